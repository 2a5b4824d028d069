/* A VM's virtio devices as JSON, in the layout of Firecracker's
 * GET /vm/config ("drives", "network-interfaces", "vsock", "entropy"; plus
 * "virtio-console"): what GET /vm/config answers and what a snapshot
 * records, so that a restore opens the same devices in the same slots.
 * Each section is its device type's (vmm/registry.h). */
#ifndef ISOLA_VMM_SNAPSHOT_DEVICES_H
#define ISOLA_VMM_SNAPSHOT_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

struct vm_config;

/* Adds the device sections of `c` to the object `j`; 0, or -1 when memory
 * runs out. */
int devices_to_json(const struct vm_config *c, json_t *j);

/* Sets the devices of `c` from what devices_to_json() wrote (NULL: no
 * devices); strings point into `j`, which must outlive `c`'s use.  `where`
 * names the source in errors. */
int devices_from_json(json_t *j, struct vm_config *c, const char *where, err_t *err);

/* Whether `c` asks for any virtio device. */
bool devices_any(const struct vm_config *c);

/* ---- network interfaces (virtio/net_type.c) ---- */
/* "02:00:00:00:00:01" into bytes; -1 when it is not one. */
int devices_parse_mac(const char *s, uint8_t mac[6]);

/* The index of interface `id` (its API id, or ethN for one from the
 * command line), or -1. */
int devices_find_net(const struct vm_config *c, const char *id);

/* Points interface `iface_id` at another tap (Firecracker's
 * network_overrides); -1 when no interface has that id. */
int devices_override_tap(struct vm_config *c, const char *iface_id, const char *tap, err_t *err);

#endif

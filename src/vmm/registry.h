/* The VMM's device registry: one `struct vmm_device_type` per kind of
 * device, all of them in one table (registry.c).  The VMM never names a
 * device: attaching and releasing (vm_virtio.c), GET /vm/config and the
 * snapshot's device record (snapshot/devices.c), the config file's
 * sections (api/config_file.c), metrics (metrics.c) and device state in
 * snapshots (snapshot/snapshot.c) all loop over this table.
 *
 * As Firecracker keeps device logic, event handling and snapshot state
 * apart, a device type is made of its device file (virtio/blk.c: the
 * queues and requests) and its type file (virtio/blk_type.c: how the VMM
 * attaches it, describes it in JSON, counts it in metrics and saves it).
 * Adding a device is its own files plus one line in registry.c
 * (docs/vmm.md, "Adding a device"). */
#ifndef ISOLA_VMM_REGISTRY_H
#define ISOLA_VMM_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

struct vm;
struct vm_config;
struct ratelimit_config;

enum vmm_device_kind {
  /* virtio devices the config asks for, each in its own MMIO slot, in
   * table order (the guest names disks vda, vdb... in that order) */
  VMM_DEVICE_VIRTIO,
  /* the fixed devices every VM has (the serial port), made with the
   * machine by vm.c; the registry saves and loads their state */
  VMM_DEVICE_PLATFORM,
};

/* Snapshot record tags of device state: a device type picks one of its
 * own, fixed forever (it is part of the state file format).  The tags
 * below VMM_STATE_TAG_FIRST are the snapshot core's; the serial port
 * keeps 15, which format 1 gave it. */
#define VMM_STATE_TAG_FIRST 64

/* Where save() hands each state record: `index` tells instances apart. */
typedef int vmm_state_put(void *ctx, uint32_t index, const void *data, uint32_t len, err_t *err);

struct vmm_device_type {
  const char *name; /* "virtio-blk": in errors and docs */
  enum vmm_device_kind kind;

  /* ---- virtio devices: all required ---- */
  /* The config's section, in GET /vm/config, a snapshot's device record
   * and --config-file ("drives"); id_field names an item of a list
   * section ("drive_id"), NULL for a single object. */
  const char *section;
  const char *id_field;
  /* How many devices of this type `c` asks for (each takes a slot). */
  int (*count)(const struct vm_config *c);
  /* Open them, put them in slots (vm_add_slot) and on the device loop. */
  int (*attach)(struct vm *vm, const struct vm_config *c, err_t *err);
  /* Close what attach() opened, also after a partial attach; the device
   * loop is stopped and the slots released. */
  void (*release)(struct vm *vm);
  /* Add the type's section to `j` (nothing when none is configured); -1
   * when memory runs out. */
  int (*to_json)(const struct vm_config *c, json_t *j);
  /* Set the type's devices of `c` from its section of `j` (`j` may be
   * NULL: none); strings point into `j`.  `where` names the source. */
  int (*from_json)(json_t *j, struct vm_config *c, const char *where, err_t *err);

  /* ---- a type whose config is its JSON section ---- */
  /* Nothing in vm_config names it: PUT /<section> (before InstanceStart,
   * also from --config-file) and GET /<section> are the registry's
   * (api/devices.c), which checks the body with from_json and keeps it in
   * vm_config.device_sections, where vmm_device_section() finds it (a
   * snapshot's device record is put there as it is read). */
  bool api_section;
  /* PATCH /<section> of the running VM (optional). */
  int (*patch)(struct vm *vm, json_t *body, err_t *err);

  /* ---- optional, any kind ---- */
  /* The type's groups of the metrics line (Firecracker's names). */
  void (*metrics)(struct vm *vm, json_t *j);
  /* Device state beyond the virtio transport (which the snapshot saves
   * for every slot): records under state_tag, written while the VM and
   * the device loop are paused, and put back one by one. */
  uint32_t state_tag;
  int (*save)(struct vm *vm, vmm_state_put *put, void *ctx, err_t *err);
  int (*load)(struct vm *vm, uint32_t index, const void *data, uint32_t len, err_t *err);
  /* After a restore, before the vCPUs run. */
  void (*restored)(struct vm *vm);
};

/* Room in struct vm for the state of this many device types. */
#define VMM_MAX_DEVICE_TYPES 16

/* Every device type, NULL-ended, virtio ones in slot order. */
extern const struct vmm_device_type *const vmm_device_types[];

#define vmm_foreach_device_type(t)                                                                          \
  for (const struct vmm_device_type *const *t##_p = vmm_device_types, *t; (t = *t##_p); t##_p++)

/* The type that owns a snapshot record tag, or the one with a config
 * section; NULL when none does. */
const struct vmm_device_type *vmm_device_by_tag(uint32_t tag);
const struct vmm_device_type *vmm_device_by_section(const char *section);
/* The type's own slot in struct vm, for a type whose device struct
 * struct vm does not name: attach() puts what it allocates there (NULL
 * until then), release() frees it and sets it back to NULL. */
void **vmm_device_state(struct vm *vm, const struct vmm_device_type *t);
/* An api_section type's config: its section, or NULL when `c` asks for
 * none. */
json_t *vmm_device_section(const struct vm_config *c, const struct vmm_device_type *t);
/* How many virtio devices `c` asks for, of every type. */
int vmm_devices_count(const struct vm_config *c);

/* ---- helpers for type files ---- */
/* A limiter under `key` of `obj`, when it limits anything; -1: `obj` is
 * NULL or memory ran out. */
int vmm_json_set_limit(json_t *obj, const char *key, const struct ratelimit_config *c);
/* The limiter under `key` of `v`, named "`where`: `list`[i].key" in
 * errors ("`where`: `list`.key" when i is VMM_JSON_SINGLE). */
#define VMM_JSON_SINGLE ((size_t)-1)
int vmm_json_get_limit(json_t *v, const char *key, const char *where, const char *list, size_t i,
                       struct ratelimit_config *c, err_t *err);

#endif

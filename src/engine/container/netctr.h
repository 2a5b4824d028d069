/* Containers on networks.
 *
 * A container's record says which networks it joins (HostConfig.Networks:
 * [{Name, IPv4Address (asked with --ip), Aliases}], HostConfig.NetworkMode
 * the first of them) and what it publishes (HostConfig.PortBindings,
 * Docker's {"80/tcp": [{"HostIp", "HostPort"}]}); NetworkSettings holds
 * what it was given.
 *
 *   create   addresses from each network's IPAM (the default network
 *            `isola` is made on first use)
 *   start    the networks' bridges and dnsmasq made or checked, the nft
 *            table written with this container's ports
 *   run      (the monitor, between the runtime's create and start) a veth
 *            or macvlan per network into the container's namespace
 *   exit     the nft table written without its ports
 *   rm       its addresses released and dnsmasq told */
#ifndef ISOLA_ENGINE_CONTAINER_NETCTR_H
#define ISOLA_ENGINE_CONTAINER_NETCTR_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "engine/container/ctr.h"

/* NetworkMode names networks (not none, host, private or container:). */
bool netctr_enabled(const json_t *rec);
int netctr_allocate(json_t *rec, const char *id, const char *name, err_t *err);
void netctr_release(const json_t *rec, const char *id);
int netctr_prepare(struct ctr *c, err_t *err);
int netctr_attach(struct ctr *c, pid_t pid, err_t *err);
/* One more network for a running container (`network connect`). */
int netctr_attach_one(struct ctr *c, pid_t pid, const char *name, err_t *err);
void netctr_stopped(struct ctr *c);
/* Stop the DHCP clients of a run that ended. */
void netctr_detach(struct ctr *c);
/* microVMs: a tap per network on its bridge, and `--net tap=…,mac=…`
 * for each appended to the VMM's argv; removed again by untap. */
int netctr_vm_taps(struct ctr *c, json_t *vmm_argv, err_t *err);
void netctr_vm_untap(struct ctr *c);
/* Host-side link of member `i` of container `id` (veth end or tap). */
void netctr_link_name(const char *id, size_t i, char out[16]);

/* Write the nft table from every network and the ports of running
 * containers, counting `with` as running and `without` as not (either may
 * be NULL).  A port of `with` that a running container publishes already is
 * an error. */
int net_sync_rules(const char *with, const char *without, err_t *err);

/* /etc/resolv.conf and the /etc/hosts line of a networked container. */
char *netctr_resolv_conf(const json_t *rec);
char *netctr_hosts_lines(const json_t *rec, const char *hostname);

#endif

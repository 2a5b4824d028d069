/* Network records: DIR/NAME.json in Docker's inspect layout (Name, Id,
 * Created, Driver, IPAM.Config[0].{Subnet,Gateway}, Internal, Options,
 * Containers) plus isola's own keys:
 *
 *   Interface  the bridge of a NAT network (isola0, isola1, …), or the
 *              existing host bridge / parent link of a bridged one
 *   Mode       "nat" (our bridge, IPAM, dnsmasq, masquerade),
 *              "bridged" (an existing host bridge; addresses by the LAN's
 *              DHCP) or "macvlan" (on a parent link; static addresses with
 *              --subnet, else the LAN's DHCP)
 *
 * Containers.ID = {Name, IPv4Address "A.B.C.D/N", MacAddress} is IPAM's
 * allocation table: written under DIR/../networks.lock, released when the
 * container goes. */
#ifndef ISOLA_NET_STORE_H
#define ISOLA_NET_STORE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "net/cidr.h"

#define NET_DEFAULT "isola"
#define NET_DEFAULT_BRIDGE "isola0"
#define NET_DEFAULT_SUBNET "10.90.0.0/16"

struct net_opts {
  const char *name, *driver, *subnet, *gateway, *parent;
  bool internal;
};

int netstore_lock(const char *dir, err_t *err);
/* ENOENT error "no network `NAME`" when missing. */
int netstore_load(const char *dir, const char *name, json_t **net, err_t *err);
int netstore_save(const char *dir, const json_t *net, err_t *err);
int netstore_remove(const char *dir, const char *name, err_t *err);
/* Every record, sorted by name (a JSON array). */
int netstore_list(const char *dir, json_t **nets, err_t *err);

/* A new record (not saved): the name is free, the subnet is valid and
 * overlaps neither another network's nor an address of this host; without
 * --subnet the first free 10.91.N.0/24 is taken. */
int netstore_new(const char *dir, const struct net_opts *o, json_t **net, err_t *err);

/* Accessors of a record. */
const char *net_name(const json_t *net);
const char *net_mode(const json_t *net);
const char *net_iface(const json_t *net);
bool net_has_ipam(const json_t *net); /* the engine hands out addresses */
int net_subnet(const json_t *net, struct cidr *c, struct in_addr *gw, err_t *err);

/* Give container `id` (named `name`) an address: `want` ("" or NULL for
 * any free one).  Writes "A.B.C.D/N" and the MAC derived from it into
 * Containers.ID; an ID that has one keeps it.  On a network whose
 * addresses come from the LAN's DHCP only a MAC is written. */
int ipam_alloc(json_t *net, const char *id, const char *name, const char *want, err_t *err);
void ipam_release(json_t *net, const char *id);

/* 0a:58:A:B:C:D, the MAC of an address (as Kubernetes' bridge plugin). */
void net_mac_of(struct in_addr a, unsigned char mac[6]);

#endif

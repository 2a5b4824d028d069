/* A member's link on a network.
 *
 * Containers: a veth pair (host end ENDPOINT.host on the bridge, the other
 * end ENDPOINT.ifname inside the container's network namespace) or a
 * macvlan on the parent link, made inside the namespace; then the address,
 * MAC, default route and loopback.
 * microVMs: a persistent tap on the bridge (the VMM attaches to it). */
#ifndef ISOLA_NET_ENDPOINT_H
#define ISOLA_NET_ENDPOINT_H

#include <netinet/in.h>
#include <stdbool.h>

#include "common/err.h"

struct endpoint {
  const char *host;   /* host-side name: isl… (veth or tap) */
  const char *ifname; /* name in the container: eth0, eth1… */
  const char *master; /* the bridge (NAT, bridged) */
  const char *parent; /* the parent link (macvlan) */
  bool has_ip;        /* else the address comes from DHCP later */
  struct in_addr ip, gw;
  int prefix;
  bool default_route;
  unsigned char mac[6];
  bool has_mac;
};

int endpoint_attach(int nsfd, const struct endpoint *ep, err_t *err);
int endpoint_tap(const struct endpoint *ep, err_t *err);
/* Delete a host-side link (a veth goes with its namespace anyway). */
int endpoint_remove(const char *host, err_t *err);
/* Loopback up in the namespace (a new one has it down). */
int endpoint_loopback(int nsfd, err_t *err);

#endif

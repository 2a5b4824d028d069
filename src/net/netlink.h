/* rtnetlink through libmnl: the links, addresses and routes isola's
 * networks are made of (no `ip` subprocesses).
 *
 * A `struct nl` is a socket bound to one network namespace: the one the
 * caller is in, or the one behind a namespace file descriptor (the socket
 * keeps talking to that namespace after the caller has moved back). */
#ifndef ISOLA_NET_NETLINK_H
#define ISOLA_NET_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct mnl_socket;

struct nl {
  struct mnl_socket *sk;
  unsigned int seq, portid;
};

/* nsfd -1: the caller's namespace. */
int nl_open(struct nl *nl, int nsfd, err_t *err);
void nl_close(struct nl *nl);

/* Interface index of `name`; 0 (no error set) when it does not exist. */
int nl_ifindex(struct nl *nl, const char *name, err_t *err);

/* New links. `mtu` 0 keeps the kernel's default. */
int link_add_bridge(struct nl *nl, const char *name, unsigned mtu, err_t *err);
/* A veth pair: `name` here, `peer` created directly in the namespace
 * behind `peer_nsfd` (-1: here as well). */
int link_add_veth(struct nl *nl, const char *name, const char *peer, int peer_nsfd, unsigned mtu, err_t *err);
/* A macvlan (bridge mode) on `parent`, created in the namespace behind
 * `nsfd` as `name`. */
int link_add_macvlan(struct nl *nl, const char *name, const char *parent, int nsfd, err_t *err);

struct link_change {
  int master;          /* >0: enslave to this ifindex */
  unsigned mtu;        /* >0: set */
  bool up;             /* bring up */
  const uint8_t *mac;  /* 6 bytes: set */
};
int link_change(struct nl *nl, const char *name, const struct link_change *ch, err_t *err);
/* Delete a link; a missing one is not an error. */
int link_del(struct nl *nl, const char *name, err_t *err);

int addr_add(struct nl *nl, const char *ifname, struct in_addr a, int prefix, err_t *err);
int route_add_default(struct nl *nl, struct in_addr gw, err_t *err);

/* Every IPv4 address configured in the namespace, with its prefix length
 * and interface name; `cb` returns nonzero to stop. */
typedef int (*addr_cb)(struct in_addr a, int prefix, const char *ifname, void *data);
int addr_each(struct nl *nl, addr_cb cb, void *data, err_t *err);

#endif

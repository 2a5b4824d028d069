/* The nftables table `inet isola`: masquerade for traffic leaving a NAT
 * network, forwarding rules, isolation of --internal networks and the DNAT
 * rules of published ports.
 *
 * The table is written whole from the engine's records on every change, in
 * one libnftables transaction ("table; delete table; table { … }"), so a
 * reader never sees a half-made table, a removed network's rules cannot
 * linger, and state left by a killed command is fixed by the next one. */
#ifndef ISOLA_NET_NAT_H
#define ISOLA_NET_NAT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct nat_net {
  const char *name, *bridge;
  struct in_addr subnet;
  int prefix;
  bool internal;
};

struct nat_port {
  const char *owner; /* a container ID, for the rule's comment */
  bool udp;
  struct in_addr host_ip; /* INADDR_ANY: every local address */
  uint16_t host_port;
  struct in_addr ctr_ip;
  uint16_t ctr_port;
};

/* The ruleset text (malloc'd); empty lists give one that only deletes. */
char *nat_render(const struct nat_net *nets, size_t nn, const struct nat_port *ports, size_t np);
int nat_apply(const struct nat_net *nets, size_t nn, const struct nat_port *ports, size_t np, err_t *err);

#endif

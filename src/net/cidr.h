/* IPv4 subnets written as CIDR ("10.90.0.0/16"). */
#ifndef ISOLA_NET_CIDR_H
#define ISOLA_NET_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct cidr {
  struct in_addr addr; /* the network address (host bits zero) */
  int prefix;
};

/* "A.B.C.D/N" with 8 <= N <= 30 and no host bits set. */
int cidr_parse(const char *s, struct cidr *c, err_t *err);
int ip_parse(const char *s, struct in_addr *a, err_t *err);
bool cidr_contains(const struct cidr *c, struct in_addr a);
bool cidr_overlap(const struct cidr *a, const struct cidr *b);
/* Host number i of the subnet (1 = first usable), in network order. */
struct in_addr cidr_host(const struct cidr *c, uint32_t i);
uint32_t cidr_size(const struct cidr *c);
/* "A.B.C.D/N" into out (at least 19 bytes). */
void cidr_format(const struct cidr *c, char *out, size_t n);

#endif

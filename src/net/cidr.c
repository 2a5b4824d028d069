#include "net/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t mask_of(int prefix)
{
  return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

int ip_parse(const char *s, struct in_addr *a, err_t *err)
{
  if (inet_pton(AF_INET, s, a) != 1)
    return err_make(err, EINVAL, "`%s` is not an IPv4 address (write it as A.B.C.D)", s);
  return 0;
}

int cidr_parse(const char *s, struct cidr *c, err_t *err)
{
  const char *slash = strchr(s, '/');
  char ip[INET_ADDRSTRLEN];
  if (!slash || (size_t)(slash - s) >= sizeof ip)
    return err_make(err, EINVAL, "`%s` is not a subnet: write it as A.B.C.D/N", s);
  memcpy(ip, s, (size_t)(slash - s));
  ip[slash - s] = 0;
  char *end;
  errno = 0;
  long p = strtol(slash + 1, &end, 10);
  if (!slash[1] || *end || errno || p < 8 || p > 30)
    return err_make(err, EINVAL, "subnet `%s`: the prefix length must be between 8 and 30", s);
  if (inet_pton(AF_INET, ip, &c->addr) != 1)
    return err_make(err, EINVAL, "subnet `%s`: `%s` is not an IPv4 address", s, ip);
  c->prefix = (int)p;
  if (ntohl(c->addr.s_addr) & ~mask_of(c->prefix)) {
    struct cidr fixed = {{htonl(ntohl(c->addr.s_addr) & mask_of(c->prefix))}, c->prefix};
    char f[24];
    cidr_format(&fixed, f, sizeof f);
    return err_make(err, EINVAL, "subnet `%s` has host bits set: did you mean %s?", s, f);
  }
  return 0;
}

bool cidr_contains(const struct cidr *c, struct in_addr a)
{
  return (ntohl(a.s_addr) & mask_of(c->prefix)) == ntohl(c->addr.s_addr);
}

bool cidr_overlap(const struct cidr *a, const struct cidr *b)
{
  int p = a->prefix < b->prefix ? a->prefix : b->prefix;
  return ((ntohl(a->addr.s_addr) ^ ntohl(b->addr.s_addr)) & mask_of(p)) == 0;
}

struct in_addr cidr_host(const struct cidr *c, uint32_t i)
{
  struct in_addr a = {htonl(ntohl(c->addr.s_addr) + i)};
  return a;
}

uint32_t cidr_size(const struct cidr *c)
{
  return 1u << (32 - c->prefix);
}

void cidr_format(const struct cidr *c, char *out, size_t n)
{
  char a[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &c->addr, a, sizeof a);
  snprintf(out, n, "%s/%d", a, c->prefix);
}

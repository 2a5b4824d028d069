/* The guest's network from the kernel command line, over rtnetlink with
 * libnl-route (no `ip` in the initramfs). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "init.h"

static int link_up(struct nl_sock *sk, const char *ifname)
{
  struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
  int ifindex = 0;
  for (int tries = 0; tries < 50 && !ifindex; tries++) {
    ifindex = (int)if_nametoindex(ifname);
    if (!ifindex)
      usleep(100 * 1000); /* the virtio-net module may still be probing */
  }
  if (!ifindex || rtnl_link_get_kernel(sk, ifindex, NULL, &link) < 0) {
    say("no network interface %s", ifname);
    rtnl_link_put(change);
    return -1;
  }
  rtnl_link_set_flags(change, IFF_UP);
  int r = rtnl_link_change(sk, link, change, 0);
  rtnl_link_put(link);
  rtnl_link_put(change);
  if (r < 0)
    say("cannot bring %s up: %s", ifname, nl_geterror(r));
  return r < 0 ? -1 : ifindex;
}

static int add_address(struct nl_sock *sk, int ifindex, const char *cidr)
{
  struct nl_addr *local = NULL;
  if (nl_addr_parse(cidr, AF_INET, &local) < 0) {
    say("isola.ip=%s is not an IPv4 address with a prefix length", cidr);
    return -1;
  }
  struct rtnl_addr *a = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(a, ifindex);
  rtnl_addr_set_local(a, local);
  int r = rtnl_addr_add(sk, a, 0);
  rtnl_addr_put(a);
  nl_addr_put(local);
  if (r < 0 && r != -NLE_EXIST)
    say("cannot add address %s: %s", cidr, nl_geterror(r));
  return r < 0 && r != -NLE_EXIST ? -1 : 0;
}

static int add_default_route(struct nl_sock *sk, int ifindex, const char *gw)
{
  struct nl_addr *via = NULL, *dst = NULL;
  if (nl_addr_parse(gw, AF_INET, &via) < 0 || nl_addr_parse("0.0.0.0/0", AF_INET, &dst) < 0) {
    say("isola.gw=%s is not an IPv4 address", gw);
    nl_addr_put(via);
    return -1;
  }
  struct rtnl_route *rt = rtnl_route_alloc();
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_nh_set_gateway(nh, via);
  rtnl_route_add_nexthop(rt, nh);
  rtnl_route_set_dst(rt, dst);
  int r = rtnl_route_add(sk, rt, NLM_F_CREATE);
  rtnl_route_put(rt);
  nl_addr_put(via);
  nl_addr_put(dst);
  if (r < 0 && r != -NLE_EXIST)
    say("cannot add the default route via %s: %s", gw, nl_geterror(r));
  return r < 0 && r != -NLE_EXIST ? -1 : 0;
}

int net_configure(const char *ifname, const char *cidr, const char *gw, const char *dns)
{
  struct nl_sock *sk = nl_socket_alloc();
  if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0) {
    say("cannot open rtnetlink");
    nl_socket_free(sk);
    return -1;
  }
  int rc = link_up(sk, "lo") < 0 ? -1 : 0;
  if (cidr) {
    int ifindex = link_up(sk, ifname);
    if (ifindex < 0 || add_address(sk, ifindex, cidr) < 0 ||
        (gw && add_default_route(sk, ifindex, gw) < 0))
      rc = -1;
  }
  nl_socket_free(sk);
  if (dns) {
    FILE *f = fopen("/etc/resolv.conf", "we");
    if (f) {
      fprintf(f, "nameserver %s\n", dns);
      fclose(f);
    }
  }
  return rc;
}

/* rtnetlink requests (rtnetlink(7)) built and acknowledged with libmnl. */
#include "net/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* requests are small; replies to dumps come in pages */
#define NL_REQ 4096
#define NL_RECV 32768

int nl_open(struct nl *nl, int nsfd, err_t *err)
{
  int here = -1;
  nl->sk = NULL;
  if (nsfd >= 0) {
    here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (here < 0)
      return err_sys(err, "cannot open this thread's network namespace");
    if (setns(nsfd, CLONE_NEWNET) < 0) {
      close(here);
      return err_sys(err, "cannot enter the container's network namespace");
    }
  }
  nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  int saved = errno;
  if (here >= 0) {
    /* moving back cannot fail: this thread came from there */
    if (setns(here, CLONE_NEWNET) < 0)
      abort();
    close(here);
  }
  if (!nl->sk) {
    errno = saved;
    return err_sys(err, "cannot open a netlink socket");
  }
  if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
    saved = errno;
    mnl_socket_close(nl->sk);
    nl->sk = NULL;
    errno = saved;
    return err_sys(err, "cannot bind a netlink socket");
  }
  nl->portid = mnl_socket_get_portid(nl->sk);
  nl->seq = (unsigned)time(NULL);
  return 0;
}

void nl_close(struct nl *nl)
{
  if (nl->sk)
    mnl_socket_close(nl->sk);
  nl->sk = NULL;
}

static struct nlmsghdr *msg_start(struct nl *nl, char *buf, int type, int flags)
{
  struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
  h->nlmsg_type = (uint16_t)type;
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  h->nlmsg_seq = ++nl->seq;
  return h;
}

/* Send and read replies until the ack (or the end of a dump); a negative
 * ack sets errno. */
static int transact(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
  char buf[NL_RECV];
  if (mnl_socket_sendto(nl->sk, h, h->nlmsg_len) < 0)
    return -1;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sk, buf, sizeof buf);
    if (n < 0)
      return -1;
    int r = mnl_cb_run(buf, (size_t)n, h->nlmsg_seq, nl->portid, cb, data);
    if (r <= MNL_CB_STOP)
      return r < 0 ? -1 : 0;
  }
}

static struct ifinfomsg *link_msg(struct nlmsghdr *h)
{
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  return ifm;
}

static int index_cb(const struct nlmsghdr *h, void *data)
{
  const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(h);
  *(int *)data = ifm->ifi_index;
  return MNL_CB_OK;
}

int nl_ifindex(struct nl *nl, const char *name, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_GETLINK, NLM_F_ACK);
  link_msg(h);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  int idx = 0;
  if (transact(nl, h, index_cb, &idx) < 0) {
    if (errno == ENODEV)
      return 0;
    return err_sys(err, "cannot look up link `%s`", name);
  }
  return idx;
}

/* RTM_NEWLINK creating `name` (with `mtu` when nonzero). */
static struct nlmsghdr *new_link_msg(struct nl *nl, char *buf, const char *name, unsigned mtu)
{
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  link_msg(h);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  if (mtu)
    mnl_attr_put_u32(h, IFLA_MTU, mtu);
  return h;
}

static int new_link(struct nl *nl, struct nlmsghdr *h, const char *what, const char *name, err_t *err)
{
  if (transact(nl, h, NULL, NULL) < 0)
    return err_sys(err, "cannot create %s `%s`", what, name);
  return 0;
}

int link_add_bridge(struct nl *nl, const char *name, unsigned mtu, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = new_link_msg(nl, buf, name, mtu);
  struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(h, li);
  return new_link(nl, h, "bridge", name, err);
}

int link_add_veth(struct nl *nl, const char *name, const char *peer, int peer_nsfd, unsigned mtu, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = new_link_msg(nl, buf, name, mtu);
  struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
  /* VETH_INFO_PEER carries a whole ifinfomsg and the peer's attributes */
  struct nlattr *p = mnl_attr_nest_start(h, VETH_INFO_PEER);
  struct ifinfomsg *pm = mnl_nlmsg_put_extra_header(h, sizeof *pm);
  pm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, peer);
  if (mtu)
    mnl_attr_put_u32(h, IFLA_MTU, mtu);
  if (peer_nsfd >= 0)
    mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
  mnl_attr_nest_end(h, p);
  mnl_attr_nest_end(h, data);
  mnl_attr_nest_end(h, li);
  return new_link(nl, h, "veth pair", name, err);
}

int link_add_macvlan(struct nl *nl, const char *name, const char *parent, int nsfd, err_t *err)
{
  int pidx = nl_ifindex(nl, parent, err);
  if (pidx < 0)
    return -1;
  if (pidx == 0)
    return err_make(err, ENODEV, "parent interface `%s` does not exist", parent);
  char buf[NL_REQ];
  struct nlmsghdr *h = new_link_msg(nl, buf, name, 0);
  mnl_attr_put_u32(h, IFLA_LINK, (uint32_t)pidx);
  if (nsfd >= 0)
    mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
  struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "macvlan");
  struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
  mnl_attr_put_u32(h, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
  mnl_attr_nest_end(h, data);
  mnl_attr_nest_end(h, li);
  return new_link(nl, h, "macvlan", name, err);
}

int link_change(struct nl *nl, const char *name, const struct link_change *ch, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = link_msg(h);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  if (ch->up) {
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
  }
  if (ch->master > 0)
    mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)ch->master);
  if (ch->mtu)
    mnl_attr_put_u32(h, IFLA_MTU, ch->mtu);
  if (ch->mac)
    mnl_attr_put(h, IFLA_ADDRESS, 6, ch->mac);
  if (transact(nl, h, NULL, NULL) < 0)
    return err_sys(err, "cannot configure link `%s`", name);
  return 0;
}

int link_del(struct nl *nl, const char *name, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_DELLINK, NLM_F_ACK);
  link_msg(h);
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  if (transact(nl, h, NULL, NULL) < 0 && errno != ENODEV)
    return err_sys(err, "cannot delete link `%s`", name);
  return 0;
}

int addr_add(struct nl *nl, const char *ifname, struct in_addr a, int prefix, err_t *err)
{
  int idx = nl_ifindex(nl, ifname, err);
  if (idx <= 0)
    return idx < 0 ? -1 : err_make(err, ENODEV, "no link `%s` to give an address", ifname);
  char buf[NL_REQ];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (uint8_t)prefix;
  ifa->ifa_index = (uint32_t)idx;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  mnl_attr_put(h, IFA_LOCAL, sizeof a, &a);
  mnl_attr_put(h, IFA_ADDRESS, sizeof a, &a);
  if (prefix < 31) {
    struct in_addr bc = {a.s_addr | htonl(prefix ? 0xffffffffu >> prefix : 0xffffffffu)};
    mnl_attr_put(h, IFA_BROADCAST, sizeof bc, &bc);
  }
  if (transact(nl, h, NULL, NULL) < 0)
    return err_sys(err, "cannot add an address to `%s`", ifname);
  return 0;
}

int route_add_default(struct nl *nl, struct in_addr gw, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put(h, RTA_GATEWAY, sizeof gw, &gw);
  if (transact(nl, h, NULL, NULL) < 0)
    return err_sys(err, "cannot add the default route");
  return 0;
}

struct addr_walk {
  addr_cb cb;
  void *data;
  int stopped;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type(a);
  if (mnl_attr_type_valid(a, IFA_MAX) >= 0)
    tb[type] = a;
  return MNL_CB_OK;
}

static int addr_msg_cb(const struct nlmsghdr *h, void *data)
{
  struct addr_walk *w = data;
  const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
  const struct nlattr *tb[IFA_MAX + 1] = {0};
  if (ifa->ifa_family != AF_INET || w->stopped)
    return MNL_CB_OK;
  mnl_attr_parse(h, sizeof *ifa, addr_attr_cb, tb);
  const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a || mnl_attr_get_payload_len(a) != 4)
    return MNL_CB_OK;
  struct in_addr in;
  memcpy(&in, mnl_attr_get_payload(a), 4);
  char name[IF_NAMESIZE] = "?";
  if_indextoname(ifa->ifa_index, name);
  if (w->cb(in, ifa->ifa_prefixlen, name, w->data))
    w->stopped = 1;
  return MNL_CB_OK;
}

int addr_each(struct nl *nl, addr_cb cb, void *data, err_t *err)
{
  char buf[NL_REQ];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_GETADDR, NLM_F_DUMP);
  struct rtgenmsg *g = mnl_nlmsg_put_extra_header(h, sizeof *g);
  g->rtgen_family = AF_INET;
  struct addr_walk w = {cb, data, 0};
  if (transact(nl, h, addr_msg_cb, &w) < 0)
    return err_sys(err, "cannot list the addresses of this network namespace");
  return 0;
}

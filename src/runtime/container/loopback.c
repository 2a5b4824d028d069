/* `lo` up in a network namespace the container made: runc brings it up
 * (its "loopback" network for a new netns), and programs that listen on
 * 127.0.0.1 expect it.  rtnetlink through libmnl, as src/net does. */
#include "runtime/container/loopback.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

int loopback_up(err_t *err)
{
  unsigned idx = if_nametoindex("lo");
  if (!idx)
    return err_sys(err, "cannot find `lo` in the container's network namespace");
  struct mnl_socket *sk = mnl_socket_open(NETLINK_ROUTE);
  if (!sk)
    return err_sys(err, "cannot open an rtnetlink socket to bring `lo` up");
  int ret = -1;
  if (mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0) {
    err_sys(err, "cannot bind an rtnetlink socket to bring `lo` up");
    goto out;
  }
  char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE is a sysconf call: a VLA */
  struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
  h->nlmsg_type = RTM_NEWLINK;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  unsigned seq = h->nlmsg_seq = (unsigned)time(NULL);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = (int)idx;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  if (mnl_socket_sendto(sk, h, h->nlmsg_len) < 0) {
    err_sys(err, "cannot bring `lo` up");
    goto out;
  }
  ssize_t n = mnl_socket_recvfrom(sk, buf, sizeof(buf));
  if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(sk), NULL, NULL) < 0) {
    err_sys(err, "cannot bring `lo` up");
    goto out;
  }
  ret = 0;
out:
  mnl_socket_close(sk);
  return ret;
}

#include "net/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/netlink.h"
#include "net/store.h"

static int sysctl_set(const char *path, const char *value, err_t *err)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open %s", path);
  ssize_t n = write(fd, value, strlen(value));
  int saved = errno;
  close(fd);
  errno = saved;
  if (n < 0)
    return err_sys(err, "cannot write %s", path);
  return 0;
}

int bridge_ensure(const json_t *net, err_t *err)
{
  const char *br = net_iface(net);
  struct cidr c;
  struct in_addr gw;
  if (!br || net_subnet(net, &c, &gw, err) < 0)
    return br ? -1 : err_make(err, EINVAL, "network `%s` has no bridge", net_name(net));
  struct nl nl;
  if (nl_open(&nl, -1, err) < 0)
    return -1;
  int r = nl_ifindex(&nl, br, err);
  bool made = r == 0;
  if (made)
    r = link_add_bridge(&nl, br, 0, err);
  if (r >= 0)
    r = addr_add(&nl, br, gw, c.prefix, err);
  struct link_change up = {.up = true};
  if (r >= 0)
    r = link_change(&nl, br, &up, err);
  char p[128];
  snprintf(p, sizeof p, "/proc/sys/net/ipv4/conf/%s/route_localnet", br);
  if (r >= 0 && (sysctl_set("/proc/sys/net/ipv4/ip_forward", "1", err) < 0 || sysctl_set(p, "1", err) < 0))
    r = -1;
  if (r < 0 && made)
    link_del(&nl, br, NULL);
  nl_close(&nl);
  return r < 0 ? err_context(err, "network `%s`", net_name(net)) : 0;
}

int bridge_remove(const json_t *net, err_t *err)
{
  struct nl nl;
  if (nl_open(&nl, -1, err) < 0)
    return -1;
  int r = link_del(&nl, net_iface(net), err);
  nl_close(&nl);
  return r;
}

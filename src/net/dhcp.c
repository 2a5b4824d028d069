/* udhcpc(8) (busybox) calls its script as `SCRIPT EVENT` with interface,
 * ip, mask (prefix length), router, dns and domain in the environment. */
#include "net/dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "net/netlink.h"

int dhcp_client_start(int nsfd, const struct dhcp_opts *o, int timeout_ms, pid_t *pid, err_t *err)
{
  unlink(o->ready);
  char hostopt[128];
  snprintf(hostopt, sizeof hostopt, "hostname:%s", o->hostname ? o->hostname : "");
  pid_t p = fork();
  if (p < 0)
    return err_sys(err, "cannot fork the DHCP client");
  if (p == 0) {
    if (setns(nsfd, CLONE_NEWNET) < 0)
      _exit(127);
    setenv("ISOLA_DHCP_HOOK", "1", 1);
    setenv("ISOLA_DHCP_READY", o->ready, 1);
    setenv("ISOLA_DHCP_ROUTE", o->default_route ? "1" : "0", 1);
    if (o->resolv)
      setenv("ISOLA_DHCP_RESOLV", o->resolv, 1);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    /* -f: stay for renewals; -R: release the lease when stopped */
    execlp("busybox", "busybox", "udhcpc", "-f", "-R", "-i", o->ifname, "-s", o->hook, "-x", hostopt, "-t", "4",
           "-T", "2", "-A", "3", (char *)NULL);
    _exit(127);
  }
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (access(o->ready, F_OK) == 0) {
      *pid = p;
      return 0;
    }
    int st;
    if (waitpid(p, &st, WNOHANG) == p)
      return err_make(err, EIO, "the DHCP client on %s stopped (exit status %d): is busybox installed?", o->ifname,
                      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    usleep(50 * 1000);
  }
  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
  return err_make(err, ETIMEDOUT, "no DHCP lease on %s within %d s: is there a DHCP server on that LAN?", o->ifname,
                  timeout_ms / 1000);
}

static int write_resolv(const char *path, const char *dns, const char *domain, err_t *err)
{
  /* written in place: the container has it bind-mounted */
  FILE *f = fopen(path, "we");
  if (!f)
    return err_sys(err, "cannot write %s", path);
  if (domain && *domain)
    fprintf(f, "search %s\n", domain);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", dns);
  for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
    fprintf(f, "nameserver %s\n", t);
  return fclose(f) == 0 ? 0 : err_sys(err, "cannot write %s", path);
}

int dhcp_hook(const char *event, err_t *err)
{
  if (strcmp(event, "bound") && strcmp(event, "renew"))
    return 0; /* deconfig, leasefail, nak: nothing to undo yet */
  const char *ifname = getenv("interface"), *ip = getenv("ip"), *mask = getenv("mask");
  const char *router = getenv("router"), *dns = getenv("dns");
  struct in_addr a, gw;
  if (!ifname || !ip || inet_pton(AF_INET, ip, &a) != 1)
    return err_make(err, EINVAL, "DHCP %s without an interface and address", event);
  int prefix = mask ? atoi(mask) : 24;
  if (prefix < 1 || prefix > 32)
    prefix = 24;
  struct nl nl;
  if (nl_open(&nl, -1, err) < 0)
    return -1;
  int r = addr_add(&nl, ifname, a, prefix, err);
  const char *want_route = getenv("ISOLA_DHCP_ROUTE");
  if (r == 0 && router && want_route && !strcmp(want_route, "1")) {
    char first[INET_ADDRSTRLEN];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(router, " "), router);
    if (inet_pton(AF_INET, first, &gw) == 1 && route_add_default(&nl, gw, NULL) < 0 && errno != EEXIST)
      r = err_sys(err, "cannot add the default route via %s", first);
  }
  nl_close(&nl);
  const char *resolv = getenv("ISOLA_DHCP_RESOLV");
  if (r == 0 && resolv && dns)
    r = write_resolv(resolv, dns, getenv("domain"), err);
  const char *ready = getenv("ISOLA_DHCP_READY");
  if (r == 0 && ready) {
    int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
      close(fd);
  }
  return r;
}

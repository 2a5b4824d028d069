/* dnsmasq(8) options: --bind-interfaces on the bridge alone, a "static"
 * DHCP range (only hosts listed in --dhcp-hostsfile get a lease), names
 * from --addn-hosts with --expand-hosts for NAME.dns.isola. */
#include "net/dnsmasq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "net/store.h"

extern char **environ;

pid_t dnsmasq_pid(const char *dir)
{
  _cleanup_free_ char *pf = path_join(dir, "dnsmasq.pid");
  _cleanup_free_ char *text = NULL;
  if (file_read_all(pf, 64, &text, NULL, NULL) < 0)
    return 0;
  pid_t pid = (pid_t)atoi(text);
  if (pid <= 0)
    return 0;
  /* the PID is ours only if that process was started with our pid file */
  char cl[64];
  snprintf(cl, sizeof cl, "/proc/%d/cmdline", (int)pid);
  _cleanup_free_ char *cmd = NULL;
  size_t len = 0;
  if (file_read_all(cl, 65536, &cmd, &len, NULL) < 0)
    return 0;
  for (size_t off = 0; off < len; off += strlen(cmd + off) + 1)
    if (!strncmp(cmd + off, "--pid-file=", 11) && !strcmp(cmd + off + 11, pf))
      return pid;
  return 0;
}

static int write_members(const char *dir, const json_t *net, err_t *err)
{
  char *hosts = NULL, *leases = NULL;
  size_t hl = 0, ll = 0;
  FILE *h = open_memstream(&hosts, &hl), *l = open_memstream(&leases, &ll);
  if (!h || !l) {
    if (h)
      fclose(h);
    if (l)
      fclose(l);
    free(hosts);
    free(leases);
    return err_make(err, ENOMEM, "out of memory");
  }
  const char *id;
  json_t *m;
  json_object_foreach(json_object_get((json_t *)net, "Containers"), id, m)
  {
    const char *cidr = json_string_value(json_object_get(m, "IPv4Address"));
    const char *name = json_string_value(json_object_get(m, "Name"));
    const char *mac = json_string_value(json_object_get(m, "MacAddress"));
    if (!cidr)
      continue;
    int iplen = (int)strcspn(cidr, "/");
    fprintf(h, "%.*s\t%s %.12s", iplen, cidr, name ? name : "", id);
    json_t *al;
    size_t i;
    json_array_foreach(json_object_get(m, "Aliases"), i, al) fprintf(h, " %s", json_string_value(al));
    fputc('\n', h);
    if (mac)
      fprintf(l, "%s,%.*s\n", mac, iplen, cidr);
  }
  fclose(h);
  fclose(l);
  _cleanup_free_ char *hp = path_join(dir, "hosts"), *lp = path_join(dir, "dhcp-hosts");
  int r = file_write_atomic(hp, hosts, hl, 0644, false, err);
  if (r == 0)
    r = file_write_atomic(lp, leases, ll, 0644, false, err);
  free(hosts);
  free(leases);
  return r;
}

static int start(const char *dir, const json_t *net, err_t *err)
{
  struct cidr c;
  struct in_addr gw;
  if (net_subnet(net, &c, &gw, err) < 0)
    return -1;
  char g[INET_ADDRSTRLEN], sub[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN];
  struct in_addr m = {htonl(0xffffffffu << (32 - c.prefix))};
  inet_ntop(AF_INET, &gw, g, sizeof g);
  inet_ntop(AF_INET, &c.addr, sub, sizeof sub);
  inet_ntop(AF_INET, &m, mask, sizeof mask);
  char *a[32];
  int n = 0;
  char *own[16] = {0};
  int no = 0;
#define OPT(...) (asprintf(&own[no], __VA_ARGS__) < 0 ? NULL : (a[n++] = own[no++]))
  a[n++] = "dnsmasq";
  a[n++] = "--conf-file=/dev/null";
  OPT("--pid-file=%s/dnsmasq.pid", dir);
  /* dnsmasq reads its hosts files again on SIGHUP, after dropping
   * privileges; they live under the engine's root, which only root reads */
  a[n++] = "--user=root";
  OPT("--interface=%s", net_iface(net));
  a[n++] = "--bind-interfaces";
  a[n++] = "--except-interface=lo";
  a[n++] = "--no-hosts";
  OPT("--addn-hosts=%s/hosts", dir);
  a[n++] = "--expand-hosts";
  a[n++] = "--domain=" NET_DNS_DOMAIN;
  a[n++] = "--local=/" NET_DNS_DOMAIN "/";
  OPT("--dhcp-range=%s,static,%s,1h", sub, mask);
  OPT("--dhcp-hostsfile=%s/dhcp-hosts", dir);
  OPT("--dhcp-leasefile=%s/leases", dir);
  OPT("--dhcp-option=option:router,%s", g);
  a[n++] = "--dhcp-option=option:domain-search," NET_DNS_DOMAIN;
  a[n++] = "--dhcp-authoritative";
  OPT("--log-facility=%s/dnsmasq.log", dir);
  if (json_is_true(json_object_get(net, "Internal")))
    a[n++] = "--no-resolv"; /* nothing leaves an internal network */
  a[n] = NULL;
#undef OPT
  pid_t pid;
  int r = posix_spawnp(&pid, "dnsmasq", NULL, NULL, a, environ);
  for (int i = 0; i < no; i++)
    free(own[i]);
  if (r != 0) {
    errno = r;
    return err_sys(err, "cannot run dnsmasq (install Debian's dnsmasq-base)");
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    _cleanup_free_ char *log = path_join(dir, "dnsmasq.log");
    return err_make(err, EIO, "dnsmasq for network `%s` failed to start (exit status %d): see %s", net_name(net),
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1, log);
  }
  /* the daemon writes its pid file after the parent has gone */
  for (int i = 0; i < 200 && !dnsmasq_pid(dir); i++)
    usleep(5000);
  if (!dnsmasq_pid(dir))
    return err_make(err, EIO, "dnsmasq for network `%s` started but wrote no pid file", net_name(net));
  return 0;
}

int dnsmasq_sync(const char *dir, const json_t *net, err_t *err)
{
  if (mkdir_p(dir, 0755, err) < 0 || write_members(dir, net, err) < 0)
    return -1;
  pid_t pid = dnsmasq_pid(dir);
  if (pid > 0) {
    kill(pid, SIGHUP);
    return 0;
  }
  return start(dir, net, err);
}

/* Waits up to `ms` for `pid` to exit: with its pidfd (readable once the
 * process has exited), else by the pid file's owner, which is less exact. */
static bool wait_exit(int pidfd, pid_t pid, const char *dir, int ms)
{
  if (pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
      ;
    return r > 0;
  }
  for (int i = 0; i < ms / 10 && dnsmasq_pid(dir) == pid; i++)
    usleep(10000);
  return dnsmasq_pid(dir) != pid;
}

void dnsmasq_stop(const char *dir)
{
  pid_t pid = dnsmasq_pid(dir);
  if (pid <= 0) {
    remove_tree(dir);
    return;
  }
  /* A dying dnsmasq's cmdline empties (its memory goes) well before it has
   * exited (its files and sockets close later, in state D), so the pid
   * file's owner vanishing does not mean it is gone: a caller that removes
   * the network next, or a leak check, would still see it.  A pidfd, taken
   * while the pid is still ours, tells when it has really exited. */
  _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0 && dnsmasq_pid(dir) != pid) {
    remove_tree(dir); /* it exited between the two looks */
    return;
  }
  kill(pid, SIGTERM);
  if (!wait_exit(pidfd, pid, dir, 2000)) {
    kill(pid, SIGKILL); /* a stopped or stuck one; wait for it too */
    wait_exit(pidfd, pid, dir, 5000);
  }
  remove_tree(dir);
}

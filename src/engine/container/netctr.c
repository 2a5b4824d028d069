/* The engine's side of src/net: containers joined to networks. */
#include "engine/container/netctr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/log.h"
#include "engine/container/ctr.h"
#include "engine/monitor/attach.h"
#include "net/bridge.h"
#include "net/dhcp.h"
#include "net/dnsmasq.h"
#include "net/endpoint.h"
#include "net/nat.h"
#include "net/store.h"

bool netctr_enabled(const json_t *rec)
{
  const char *m = json_string_value(json_object_get(json_object_get(rec, "HostConfig"), "NetworkMode"));
  return m && strcmp(m, "none") && strcmp(m, "host") && strcmp(m, "private") && strncmp(m, "container:", 10);
}

static char *net_dir(void)
{
  return engine_path("networks");
}

static char *net_rundir(const char *name)
{
  char rel[128];
  snprintf(rel, sizeof rel, "networks/%s", name);
  return engine_run_path(rel);
}

void netctr_link_name(const char *id, size_t i, char out[16])
{
  snprintf(out, 16, "isl%.9s%zx", id, i & 15);
}

/* Interface number of entry `n` (number i) of HostConfig.Networks: its
 * Index when `network connect` gave one, else its place. */
static size_t member_index(const json_t *n, size_t i)
{
  json_t *k = json_object_get(n, "Index");
  return k ? (size_t)json_integer_value(k) : i;
}

/* The default network, made on first use. */
static int load_or_default(const char *dir, const char *name, json_t **net, err_t *err)
{
  _cleanup_err_ err_t local = NULL;
  err_t *e = err_or(err, &local);
  if (netstore_load(dir, name, net, e) == 0 || strcmp(name, NET_DEFAULT) || err_errnum(*e) != ENOENT)
    return *net ? 0 : -1;
  err_free(e);
  struct net_opts o = {.name = NET_DEFAULT, .subnet = NET_DEFAULT_SUBNET};
  if (netstore_new(dir, &o, net, err) < 0 || netstore_save(dir, *net, err) < 0)
    return err_context(err, "cannot make the default network `%s`", NET_DEFAULT);
  return 0;
}

/* o[k] = v, or the new value dflt when v is NULL (dflt is consumed). */
static void set_or(json_t *o, const char *k, json_t *v, json_t *dflt)
{
  if (v) {
    json_object_set(o, k, v);
    json_decref(dflt);
  } else {
    json_object_set_new(o, k, dflt);
  }
}

static void release_locked(const char *dir, const json_t *rec, const char *id)
{
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(rec, "HostConfig"), "Networks"), i, n)
  {
    json_t *net;
    const char *name = json_string_value(json_object_get(n, "Name"));
    if (!name || netstore_load(dir, name, &net, NULL) < 0)
      continue;
    if (json_object_get(json_object_get(net, "Containers"), id)) {
      ipam_release(net, id);
      netstore_save(dir, net, NULL);
      if (!strcmp(net_mode(net), "nat")) {
        _cleanup_free_ char *rd = net_rundir(name);
        if (dnsmasq_pid(rd))
          dnsmasq_sync(rd, net, NULL);
      }
    }
    json_decref(net);
  }
}

int netctr_allocate(json_t *rec, const char *id, const char *name, err_t *err)
{
  if (!netctr_enabled(rec))
    return 0;
  json_t *hc = json_object_get(rec, "HostConfig");
  json_t *list = json_object_get(hc, "Networks");
  if (!json_array_size(list)) {
    list = json_pack("[{ss}]", "Name", json_string_value(json_object_get(hc, "NetworkMode")));
    json_object_set_new(hc, "Networks", list);
  }
  _cleanup_free_ char *dir = net_dir();
  _cleanup_close_ int lock = netstore_lock(dir, err);
  if (lock < 0)
    return -1;
  json_t *settings = json_object();
  size_t i;
  json_t *n;
  int r = 0;
  json_array_foreach(list, i, n)
  {
    const char *nn = json_string_value(json_object_get(n, "Name"));
    json_t *net = NULL;
    if (load_or_default(dir, nn, &net, err) < 0) {
      r = err_context(err, "--network %s", nn);
      break;
    }
    r = ipam_alloc(net, id, name, json_string_value(json_object_get(n, "IPv4Address")), err);
    if (r == 0) {
      json_t *m = json_object_get(json_object_get(net, "Containers"), id);
      set_or(m, "Aliases", json_object_get(n, "Aliases"), json_array());
      r = netstore_save(dir, net, err);
    }
    if (r < 0) {
      json_decref(net);
      break;
    }
    json_t *m = json_object_get(json_object_get(net, "Containers"), id);
    json_t *cfg = json_array_get(json_object_get(json_object_get(net, "IPAM"), "Config"), 0);
    const char *cidr = json_string_value(json_object_get(m, "IPv4Address"));
    json_t *ep = json_pack("{ss ss}", "NetworkID", json_string_value(json_object_get(net, "Id")), "IPAddress", "");
    if (cidr) {
      char ip[INET_ADDRSTRLEN + 4];
      snprintf(ip, sizeof ip, "%.*s", (int)strcspn(cidr, "/"), cidr);
      json_object_set_new(ep, "IPAddress", json_string(ip));
      json_object_set_new(ep, "IPPrefixLen", json_integer(atoi(strchr(cidr, '/') + 1)));
      json_object_set(ep, "Gateway", json_object_get(cfg, "Gateway"));
      json_object_set(ep, "MacAddress", json_object_get(m, "MacAddress"));
    }
    if (!cidr)
      json_object_set(ep, "MacAddress", json_object_get(m, "MacAddress"));
    set_or(ep, "Aliases", json_object_get(n, "Aliases"), json_array());
    json_object_set_new(settings, nn, ep);
    json_decref(net);
  }
  if (r < 0) {
    release_locked(dir, rec, id);
    json_decref(settings);
    return -1;
  }
  json_t *ns = json_pack("{so}", "Networks", settings);
  json_t *first = json_object_get(settings, json_string_value(json_object_get(json_array_get(list, 0), "Name")));
  json_object_set(ns, "IPAddress", json_object_get(first, "IPAddress"));
  set_or(ns, "Gateway", json_object_get(first, "Gateway"), json_string(""));
  set_or(ns, "Ports", json_object_get(hc, "PortBindings"), json_object());
  json_object_set_new(rec, "NetworkSettings", ns);
  return 0;
}

static int sync_locked(const char *dir, const char *with, const char *without, err_t *err);

void netctr_release(const json_t *rec, const char *id)
{
  json_t *hc = json_object_get(rec, "HostConfig");
  if (!json_array_size(json_object_get(hc, "Networks")))
    return;
  _cleanup_free_ char *dir = net_dir();
  _cleanup_close_ int lock = netstore_lock(dir, NULL);
  if (lock < 0)
    return;
  release_locked(dir, rec, id);
  /* a container whose monitor was killed still has its ports in the table */
  if (json_object_size(json_object_get(hc, "PortBindings")))
    sync_locked(dir, NULL, id, NULL);
}

/* ---- the nft table ---- */

struct rules {
  struct nat_net nets[64];
  json_t *netrecs;
  size_t nn;
  struct nat_port ports[1024];
  char owners[1024][CTR_ID_LEN + 1];
  size_t np;
};

/* The address of container `rec` on its first NAT network. */
static int ctr_nat_ip(const json_t *rec, const json_t *nets, struct in_addr *ip)
{
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(rec, "HostConfig"), "Networks"), i, n)
  {
    const char *name = json_string_value(json_object_get(n, "Name"));
    size_t k;
    json_t *net;
    json_array_foreach(nets, k, net) if (!strcmp(net_name(net), name) && !strcmp(net_mode(net), "nat"))
    {
      const char *a = json_string_value(
          json_object_get(json_object_get(json_object_get(json_object_get(rec, "NetworkSettings"), "Networks"), name),
                          "IPAddress"));
      if (a && inet_pton(AF_INET, a, ip) == 1)
        return 0;
    }
  }
  return -1;
}

static bool port_clash(const struct nat_port *a, const struct nat_port *b)
{
  return a->udp == b->udp && a->host_port == b->host_port &&
         (a->host_ip.s_addr == INADDR_ANY || b->host_ip.s_addr == INADDR_ANY || a->host_ip.s_addr == b->host_ip.s_addr);
}

static int add_ports(struct rules *rs, const struct ctr *c, bool check, err_t *err)
{
  struct in_addr ip;
  json_t *pb = json_object_get(json_object_get(c->rec, "HostConfig"), "PortBindings");
  if (!json_object_size(pb) || ctr_nat_ip(c->rec, rs->netrecs, &ip) < 0)
    return 0;
  const char *key;
  json_t *binds;
  json_object_foreach(pb, key, binds)
  {
    size_t i;
    json_t *b;
    json_array_foreach(binds, i, b)
    {
      if (rs->np >= 1024)
        return err_make(err, ENOSPC, "more than 1024 published ports");
      struct nat_port *p = &rs->ports[rs->np];
      memset(p, 0, sizeof *p);
      p->udp = strstr(key, "/udp") != NULL;
      p->ctr_port = (uint16_t)atoi(key);
      p->host_port = (uint16_t)atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0");
      const char *hip = json_string_value(json_object_get(b, "HostIp"));
      if (hip && *hip)
        inet_pton(AF_INET, hip, &p->host_ip);
      p->ctr_ip = ip;
      snprintf(rs->owners[rs->np], sizeof rs->owners[0], "%s", c->id);
      p->owner = rs->owners[rs->np];
      for (size_t k = 0; check && k < rs->np; k++)
        if (port_clash(p, &rs->ports[k])) {
          struct ctr other;
          const char *who = rs->owners[k];
          bool named = ctr_open_id(rs->owners[k], &other, NULL) == 0;
          if (named)
            who = ctr_name(&other);
          err_make(err, EADDRINUSE, "port %u/%s is published already by container %s: pick another host port",
                   p->host_port, p->udp ? "udp" : "tcp", who);
          if (named)
            ctr_close(&other);
          return -1;
        }
      rs->np++;
    }
  }
  return 0;
}

static int sync_locked(const char *dir, const char *with, const char *without, err_t *err)
{
  struct rules *rs = calloc(1, sizeof *rs);
  if (!rs)
    return err_make(err, ENOMEM, "out of memory");
  int r = netstore_list(dir, &rs->netrecs, err);
  size_t i;
  json_t *net;
  json_array_foreach(rs->netrecs, i, net)
  {
    if (r < 0 || strcmp(net_mode(net), "nat") || rs->nn >= 64)
      continue;
    struct nat_net *n = &rs->nets[rs->nn];
    struct cidr c;
    if (net_subnet(net, &c, NULL, NULL) < 0)
      continue;
    n->name = net_name(net);
    n->bridge = net_iface(net);
    n->subnet = c.addr;
    n->prefix = c.prefix;
    n->internal = json_is_true(json_object_get(net, "Internal"));
    rs->nn++;
  }
  char **ids = NULL;
  size_t nids = 0;
  if (r == 0)
    r = ctr_list(&ids, &nids, err);
  struct ctr withc = {0};
  bool have_with = false;
  for (size_t k = 0; r == 0 && k < nids; k++) {
    if ((with && !strcmp(ids[k], with)) || (without && !strcmp(ids[k], without)))
      continue;
    struct ctr c;
    if (ctr_open_id(ids[k], &c, NULL) < 0)
      continue;
    if (json_object_size(json_object_get(json_object_get(c.rec, "HostConfig"), "PortBindings"))) {
      const char *st = ctr_status(&c);
      if (!strcmp(st, "running") || !strcmp(st, "restarting"))
        r = add_ports(rs, &c, false, err);
    }
    ctr_close(&c);
  }
  if (r == 0 && with && ctr_open_id(with, &withc, err) == 0) {
    have_with = true;
    r = add_ports(rs, &withc, true, err);
  }
  if (r == 0)
    r = nat_apply(rs->nets, rs->nn, rs->ports, rs->np, err);
  if (have_with)
    ctr_close(&withc);
  cleanup_strvp(&ids);
  json_decref(rs->netrecs);
  free(rs);
  return r;
}

int net_sync_rules(const char *with, const char *without, err_t *err)
{
  _cleanup_free_ char *dir = net_dir();
  _cleanup_close_ int lock = netstore_lock(dir, err);
  if (lock < 0)
    return -1;
  return sync_locked(dir, with, without, err);
}

/* ---- start, run, exit ---- */

int netctr_prepare(struct ctr *c, err_t *err)
{
  if (!netctr_enabled(c->rec))
    return 0;
  _cleanup_free_ char *dir = net_dir();
  _cleanup_close_ int lock = netstore_lock(dir, err);
  if (lock < 0)
    return -1;
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Networks"), i, n)
  {
    const char *name = json_string_value(json_object_get(n, "Name"));
    json_t *net;
    if (load_or_default(dir, name, &net, err) < 0)
      return err_context(err, "container %s cannot join network `%s`", ctr_name(c), name);
    int r = 0;
    if (!json_object_get(json_object_get(net, "Containers"), c->id))
      r = err_make(err, ENOENT, "container %s was disconnected from network `%s`", ctr_name(c), name);
    if (r == 0 && !strcmp(net_mode(net), "nat")) {
      _cleanup_free_ char *rd = net_rundir(name);
      r = bridge_ensure(net, err);
      if (r == 0)
        r = dnsmasq_sync(rd, net, err);
    }
    json_decref(net);
    if (r < 0)
      return -1;
  }
  return sync_locked(dir, c->id, NULL, err);
}

static char *dhcp_pidfile(const struct ctr *c, size_t idx)
{
  char name[32];
  snprintf(name, sizeof name, "dhcp-%zu.pid", idx);
  return path_join(c->rundir, name);
}

/* A DHCP client for a member on a LAN's network, run for as long as the
 * container (netctr_detach stops it). */
static int dhcp_member(struct ctr *c, int nsfd, const char *ifname, size_t idx, bool first, err_t *err)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return err_sys(err, "cannot find the isola binary for the DHCP hook");
  self[n] = 0;
  char readyname[32];
  snprintf(readyname, sizeof readyname, "dhcp-%zu.ready", idx);
  _cleanup_free_ char *ready = path_join(c->rundir, readyname);
  _cleanup_free_ char *resolv = path_join(c->dir, "resolv.conf");
  const char *hostname = json_string_value(json_object_get(json_object_get(c->rec, "Config"), "Hostname"));
  struct dhcp_opts o = {.ifname = ifname, .hostname = hostname ? hostname : ctr_name(c), .hook = self,
                        .ready = ready, .resolv = first ? resolv : NULL, .default_route = first};
  pid_t pid;
  if (dhcp_client_start(nsfd, &o, 30000, &pid, err) < 0)
    return -1;
  unlink(ready);
  _cleanup_free_ char *pf = dhcp_pidfile(c, idx);
  char b[16];
  int len = snprintf(b, sizeof b, "%d", (int)pid);
  return file_write_atomic(pf, b, (size_t)len, 0600, false, err);
}

void netctr_detach(struct ctr *c)
{
  for (size_t i = 0; i < 16; i++) {
    _cleanup_free_ char *pf = dhcp_pidfile(c, i);
    _cleanup_free_ char *text = NULL;
    if (file_read_all(pf, 32, &text, NULL, NULL) < 0)
      continue;
    pid_t pid = (pid_t)atoi(text);
    char comm[64];
    snprintf(comm, sizeof comm, "/proc/%d/comm", (int)pid);
    _cleanup_free_ char *name = NULL;
    if (pid > 0 && file_read_all(comm, 64, &name, NULL, NULL) == 0 && !strncmp(name, "busybox", 7))
      kill(pid, SIGTERM);
    unlink(pf);
  }
}

/* Member `n` (an entry of HostConfig.Networks, number i) into the
 * namespace behind nsfd. */
static int attach_member(struct ctr *c, int nsfd, const json_t *n, size_t i, err_t *err)
{
  _cleanup_free_ char *dir = net_dir();
  const char *name = json_string_value(json_object_get(n, "Name"));
  json_t *net;
  if (netstore_load(dir, name, &net, err) < 0)
    return -1;
  json_t *s = json_object_get(json_object_get(json_object_get(c->rec, "NetworkSettings"), "Networks"), name);
  size_t idx = member_index(n, i);
  char host[16], ifname[16];
  netctr_link_name(c->id, idx, host);
  snprintf(ifname, sizeof ifname, "eth%zu", idx);
  struct endpoint ep = {.host = host, .ifname = ifname, .default_route = i == 0};
  const char *mode = net_mode(net);
  if (!strcmp(mode, "macvlan"))
    ep.parent = net_iface(net);
  else
    ep.master = net_iface(net);
  const char *ip = json_string_value(json_object_get(s, "IPAddress"));
  const char *gw = json_string_value(json_object_get(s, "Gateway"));
  if (ip && *ip && inet_pton(AF_INET, ip, &ep.ip) == 1) {
    ep.has_ip = true;
    ep.prefix = (int)json_integer_value(json_object_get(s, "IPPrefixLen"));
    if (gw && json_is_true(json_object_get(net, "Internal")))
      gw = NULL; /* nothing beyond an internal network */
    if (gw)
      inet_pton(AF_INET, gw, &ep.gw);
    net_mac_of(ep.ip, ep.mac);
    ep.has_mac = true;
  }
  const char *mac = json_string_value(json_object_get(s, "MacAddress"));
  if (!ep.has_ip && mac &&
      sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ep.mac[0], &ep.mac[1], &ep.mac[2], &ep.mac[3], &ep.mac[4],
             &ep.mac[5]) == 6)
    ep.has_mac = true;
  int r = endpoint_attach(nsfd, &ep, err);
  json_decref(net);
  if (r == 0 && !ep.has_ip)
    r = dhcp_member(c, nsfd, ifname, idx, i == 0, err);
  return r < 0 ? err_context(err, "network `%s`", name) : 0;
}

static int open_netns(pid_t pid, err_t *err)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open %s", path);
  return fd;
}

int netctr_attach(struct ctr *c, pid_t pid, err_t *err)
{
  _cleanup_close_ int nsfd = open_netns(pid, err);
  if (nsfd < 0)
    return -1;
  if (!netctr_enabled(c->rec))
    return endpoint_loopback(nsfd, err);
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Networks"), i, n)
  {
    if (attach_member(c, nsfd, n, i, err) < 0)
      return -1;
  }
  return 0;
}

int netctr_attach_one(struct ctr *c, pid_t pid, const char *name, err_t *err)
{
  _cleanup_close_ int nsfd = open_netns(pid, err);
  if (nsfd < 0)
    return -1;
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Networks"), i, n)
  {
    if (!strcmp(json_string_value(json_object_get(n, "Name")), name))
      return attach_member(c, nsfd, n, i, err);
  }
  return err_make(err, ENOENT, "container %s is not on network `%s`", ctr_name(c), name);
}

void netctr_stopped(struct ctr *c)
{
  if (!netctr_enabled(c->rec) ||
      !json_object_size(json_object_get(json_object_get(c->rec, "HostConfig"), "PortBindings")))
    return;
  err_t err = NULL;
  if (net_sync_rules(NULL, c->id, &err) < 0) {
    log_err(err);
    err_free(&err);
  }
}

/* ---- microVMs ---- */

int netctr_vm_taps(struct ctr *c, json_t *vmm_argv, err_t *err)
{
  if (!netctr_enabled(c->rec))
    return 0;
  _cleanup_free_ char *dir = net_dir();
  json_t *settings = json_object_get(json_object_get(c->rec, "NetworkSettings"), "Networks");
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Networks"), i, n)
  {
    const char *name = json_string_value(json_object_get(n, "Name"));
    json_t *net;
    if (netstore_load(dir, name, &net, err) < 0)
      return -1;
    bool macvlan = !strcmp(net_mode(net), "macvlan");
    char host[16];
    netctr_link_name(c->id, member_index(n, i), host);
    struct endpoint ep = {.host = host, .master = net_iface(net)};
    int r = macvlan ? err_make(err, ENOTSUP, "network `%s` is macvlan: microVMs join NAT or bridged networks", name)
                    : endpoint_tap(&ep, err);
    json_decref(net);
    if (r < 0) {
      netctr_vm_untap(c);
      return err_context(err, "network `%s`", name);
    }
    const char *mac = json_string_value(json_object_get(json_object_get(settings, name), "MacAddress"));
    char arg[64];
    snprintf(arg, sizeof arg, "tap=%s%s%s", host, mac ? ",mac=" : "", mac ? mac : "");
    json_array_append_new(vmm_argv, json_string("--net"));
    json_array_append_new(vmm_argv, json_string(arg));
  }
  return 0;
}

void netctr_vm_untap(struct ctr *c)
{
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Networks"), i, n)
  {
    char host[16];
    netctr_link_name(c->id, member_index(n, i), host);
    endpoint_remove(host, NULL);
  }
}

/* ---- /etc files ---- */

char *netctr_resolv_conf(const json_t *rec)
{
  const char *gw = json_string_value(json_object_get(json_object_get(rec, "NetworkSettings"), "Gateway"));
  char *s = NULL;
  if (!gw || !*gw)
    return NULL;
  if (asprintf(&s, "search %s\nnameserver %s\noptions edns0\n", NET_DNS_DOMAIN, gw) < 0)
    return NULL;
  return s;
}

char *netctr_hosts_lines(const json_t *rec, const char *hostname)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  const char *name = json_string_value(json_object_get(rec, "Name"));
  const char *k;
  json_t *s;
  json_object_foreach(json_object_get(json_object_get(rec, "NetworkSettings"), "Networks"), k, s)
  {
    const char *ip = json_string_value(json_object_get(s, "IPAddress"));
    if (ip && *ip)
      fprintf(f, "%s\t%s %s\n", ip, hostname, name ? name : "");
  }
  fclose(f);
  return buf;
}

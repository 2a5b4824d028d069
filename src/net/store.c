#include "net/store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "net/netlink.h"

static bool name_ok(const char *n)
{
  if (!*n || strlen(n) > 64 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
                                 (n[0] >= '0' && n[0] <= '9')))
    return false;
  for (const char *p = n; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
      return false;
  return true;
}

static char *rec_path(const char *dir, const char *name)
{
  char *p = NULL;
  if (asprintf(&p, "%s/%s.json", dir, name) < 0)
    return NULL;
  return p;
}

int netstore_lock(const char *dir, err_t *err)
{
  if (mkdir_p(dir, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *p = path_join(dir, "../networks.lock");
  return file_lock(p, err);
}

int netstore_load(const char *dir, const char *name, json_t **net, err_t *err)
{
  if (!name_ok(name))
    return err_make(err, EINVAL, "`%s` is not a network name (letters, digits, `_`, `.` and `-`)", name);
  _cleanup_free_ char *p = rec_path(dir, name);
  if (access(p, F_OK) < 0)
    return err_make(err, ENOENT, "no network `%s` (see `isola network ls`)", name);
  return json_load_path(p, net, err);
}

int netstore_save(const char *dir, const json_t *net, err_t *err)
{
  if (mkdir_p(dir, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *p = rec_path(dir, net_name(net));
  return json_write_path(p, net, JSON_INDENT(2), true, err);
}

int netstore_remove(const char *dir, const char *name, err_t *err)
{
  _cleanup_free_ char *p = rec_path(dir, name);
  if (unlink(p) < 0 && errno != ENOENT)
    return err_sys(err, "cannot remove %s", p);
  return 0;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(net_name(*(json_t *const *)a), net_name(*(json_t *const *)b));
}

int netstore_list(const char *dir, json_t **nets, err_t *err)
{
  *nets = json_array();
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : err_sys(err, "cannot read %s", dir);
  json_t *tmp[1024];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 1024) {
    size_t len = strlen(de->d_name);
    if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
      continue;
    _cleanup_free_ char *p = path_join(dir, de->d_name);
    json_t *j;
    if (json_load_path(p, &j, NULL) == 0 && net_name(j))
      tmp[n++] = j;
  }
  if (n)
    qsort(tmp, n, sizeof tmp[0], by_name);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(*nets, tmp[i]);
  return 0;
}

const char *net_name(const json_t *net)
{
  return json_string_value(json_object_get(net, "Name"));
}

const char *net_mode(const json_t *net)
{
  const char *m = json_string_value(json_object_get(net, "Mode"));
  return m ? m : "nat";
}

const char *net_iface(const json_t *net)
{
  return json_string_value(json_object_get(net, "Interface"));
}

bool net_has_ipam(const json_t *net)
{
  return json_array_size(json_object_get(json_object_get(net, "IPAM"), "Config")) > 0;
}

int net_subnet(const json_t *net, struct cidr *c, struct in_addr *gw, err_t *err)
{
  json_t *cfg = json_array_get(json_object_get(json_object_get(net, "IPAM"), "Config"), 0);
  const char *s = json_string_value(json_object_get(cfg, "Subnet"));
  const char *g = json_string_value(json_object_get(cfg, "Gateway"));
  if (!s)
    return err_make(err, EINVAL, "network `%s` has no subnet", net_name(net));
  if (cidr_parse(s, c, err) < 0)
    return err_context(err, "network `%s`", net_name(net));
  if (gw) {
    gw->s_addr = 0;
    if (g && ip_parse(g, gw, err) < 0)
      return err_context(err, "network `%s`", net_name(net));
  }
  return 0;
}

struct host_overlap {
  const struct cidr *want;
  char found[96];
};

static int host_addr_cb(struct in_addr a, int prefix, const char *ifname, void *data)
{
  struct host_overlap *h = data;
  struct cidr c = {{htonl(ntohl(a.s_addr) & (prefix ? 0xffffffffu << (32 - prefix) : 0))}, prefix};
  if (!strncmp(ifname, "isola", 5) || !cidr_overlap(&c, h->want) || prefix == 32)
    return 0;
  char s[24];
  cidr_format(&c, s, sizeof s);
  snprintf(h->found, sizeof h->found, "%s on `%s`", s, ifname);
  return 1;
}

/* What an existing network or address of this host says against `c`:
 * NULL when nothing; malloc'd. */
static char *overlap_of(const json_t *nets, const struct cidr *c, struct nl *nl)
{
  size_t i;
  json_t *n;
  json_array_foreach(nets, i, n)
  {
    struct cidr o;
    if (!net_has_ipam(n) || net_subnet(n, &o, NULL, NULL) < 0 || !cidr_overlap(&o, c))
      continue;
    char s[24], *r = NULL;
    cidr_format(&o, s, sizeof s);
    if (asprintf(&r, "network `%s` (%s)", net_name(n), s) < 0)
      r = NULL;
    return r;
  }
  struct host_overlap h = {c, ""};
  if (nl && addr_each(nl, host_addr_cb, &h, NULL) == 0 && h.found[0])
    return strdup(h.found);
  return NULL;
}

static int pick_iface(const json_t *nets, const char *name, char *out, size_t n)
{
  if (!strcmp(name, NET_DEFAULT)) {
    snprintf(out, n, "%s", NET_DEFAULT_BRIDGE);
    return 0;
  }
  for (int k = 1; k < 1000; k++) {
    if (snprintf(out, n, "isola%d", k) >= (int)n)
      return -1;
    bool used = false;
    size_t i;
    json_t *o;
    json_array_foreach(nets, i, o) used = used || (!strcmp(net_mode(o), "nat") && net_iface(o) &&
                                                   !strcmp(net_iface(o), out));
    if (!used)
      return 0;
  }
  return -1;
}

static int choose_subnet(const struct net_opts *o, const json_t *nets, struct nl *nl, struct cidr *c, err_t *err)
{
  if (o->subnet) {
    if (cidr_parse(o->subnet, c, err) < 0)
      return err_context(err, "--subnet");
    _cleanup_free_ char *clash = overlap_of(nets, c, nl);
    if (clash)
      return err_make(err, EEXIST, "--subnet %s overlaps %s: choose another subnet", o->subnet, clash);
    return 0;
  }
  for (int k = 0; k < 256; k++) {
    char s[24];
    snprintf(s, sizeof s, "10.91.%d.0/24", k);
    cidr_parse(s, c, NULL);
    char *clash = overlap_of(nets, c, nl);
    free(clash);
    if (!clash)
      return 0;
  }
  return err_make(err, ENOSPC, "no free subnet left in 10.91.0.0/16: give one with --subnet");
}

int netstore_new(const char *dir, const struct net_opts *o, json_t **out, err_t *err)
{
  *out = NULL;
  const char *driver = o->driver ? o->driver : "bridge";
  if (!name_ok(o->name))
    return err_make(err, EINVAL, "`%s` is not a network name (letters, digits, `_`, `.` and `-`)", o->name);
  if (strcmp(driver, "bridge") && strcmp(driver, "macvlan"))
    return err_make(err, EINVAL, "--driver %s: the drivers are bridge and macvlan", driver);
  if (!strcmp(driver, "macvlan") && !o->parent)
    return err_make(err, EINVAL, "--driver macvlan needs --parent IF, the host link to attach to");
  if (o->parent && o->internal)
    return err_make(err, EINVAL, "--internal is for NAT networks; a network with --parent is on the host's LAN");
  _cleanup_free_ char *p = rec_path(dir, o->name);
  if (access(p, F_OK) == 0)
    return err_make(err, EEXIST, "network `%s` exists already", o->name);
  json_t *nets;
  if (netstore_list(dir, &nets, err) < 0)
    return -1;
  struct nl nl;
  bool have_nl = nl_open(&nl, -1, NULL) == 0;
  int r = -1;
  json_t *net = json_object();
  char id[65], now[CLOCK_RFC3339_LEN];
  FILE *ur = fopen("/dev/urandom", "re");
  unsigned char rnd[32] = {0};
  if (ur) {
    if (fread(rnd, 1, sizeof rnd, ur) != sizeof rnd)
      memset(rnd, 0, sizeof rnd);
    fclose(ur);
  }
  for (int i = 0; i < 32; i++)
    snprintf(id + 2 * i, 3, "%02x", rnd[i]);
  clock_rfc3339(now, sizeof now);
  json_object_set_new(net, "Name", json_string(o->name));
  json_object_set_new(net, "Id", json_string(id));
  json_object_set_new(net, "Created", json_string(now));
  json_object_set_new(net, "Driver", json_string(driver));
  json_object_set_new(net, "Internal", json_boolean(o->internal));
  json_object_set_new(net, "Containers", json_object());
  json_t *ipam = json_pack("{ss s[]}", "Driver", "default", "Config");
  json_object_set_new(net, "IPAM", ipam);
  if (o->parent) {
    if (have_nl && nl_ifindex(&nl, o->parent, NULL) <= 0) {
      err_make(err, ENODEV, "--parent %s: no such link in this network namespace", o->parent);
      goto out;
    }
    json_object_set_new(net, "Interface", json_string(o->parent));
    json_object_set_new(net, "Options", json_pack("{ss}", "parent", o->parent));
  }
  bool static_ipam = !o->parent || o->subnet;
  json_object_set_new(net, "Mode", json_string(!o->parent ? "nat" : !strcmp(driver, "macvlan") ? "macvlan" : "bridged"));
  if (o->parent && !strcmp(driver, "bridge") && o->subnet) {
    err_make(err, EINVAL, "--parent %s: a bridged network takes its addresses from the LAN's DHCP; leave out --subnet",
             o->parent);
    goto out;
  }
  if (!static_ipam) {
    json_object_set_new(ipam, "Driver", json_string("dhcp"));
  } else {
    struct cidr c;
    struct in_addr gw;
    if (choose_subnet(o, nets, o->parent ? NULL : have_nl ? &nl : NULL, &c, err) < 0)
      goto out;
    gw = cidr_host(&c, 1);
    if (o->gateway) {
      if (ip_parse(o->gateway, &gw, err) < 0) {
        err_context(err, "--gateway");
        goto out;
      }
      if (!cidr_contains(&c, gw) || gw.s_addr == c.addr.s_addr ||
          ntohl(gw.s_addr) == ntohl(c.addr.s_addr) + cidr_size(&c) - 1) {
        char s[24];
        cidr_format(&c, s, sizeof s);
        err_make(err, EINVAL, "--gateway %s is not a host address of the subnet %s", o->gateway, s);
        goto out;
      }
    }
    char s[24], g[INET_ADDRSTRLEN];
    cidr_format(&c, s, sizeof s);
    inet_ntop(AF_INET, &gw, g, sizeof g);
    json_array_append_new(json_object_get(ipam, "Config"), json_pack("{ss ss}", "Subnet", s, "Gateway", g));
  }
  if (!o->parent) {
    char br[16];
    if (pick_iface(nets, o->name, br, sizeof br) < 0) {
      err_make(err, ENOSPC, "no free bridge name isola1…isola999");
      goto out;
    }
    json_object_set_new(net, "Interface", json_string(br));
  }
  *out = net;
  net = NULL;
  r = 0;
out:
  json_decref(net);
  json_decref(nets);
  if (have_nl)
    nl_close(&nl);
  return r;
}

void net_mac_of(struct in_addr a, unsigned char mac[6])
{
  mac[0] = 0x0a;
  mac[1] = 0x58;
  memcpy(mac + 2, &a.s_addr, 4);
}

/* The address of an entry of Containers ("A.B.C.D/N"). */
static bool member_ip(const json_t *m, struct in_addr *a)
{
  const char *cidr = json_string_value(json_object_get(m, "IPv4Address"));
  char ip[INET_ADDRSTRLEN];
  if (!cidr || strcspn(cidr, "/") >= sizeof ip)
    return false;
  snprintf(ip, sizeof ip, "%.*s", (int)strcspn(cidr, "/"), cidr);
  return inet_pton(AF_INET, ip, a) == 1;
}

int ipam_alloc(json_t *net, const char *id, const char *name, const char *want, err_t *err)
{
  json_t *ctrs = json_object_get(net, "Containers");
  if (!ctrs) {
    ctrs = json_object();
    json_object_set_new(net, "Containers", ctrs);
  }
  json_t *mine = json_object_get(ctrs, id);
  if (mine)
    return 0;
  if (!net_has_ipam(net)) {
    /* the LAN's DHCP server knows the member by a MAC that stays: 02 (local)
     * and five bytes of its ID */
    char macs[18];
    snprintf(macs, sizeof macs, "02:%.2s:%.2s:%.2s:%.2s:%.2s", id, id + 2, id + 4, id + 6, id + 8);
    json_object_set_new(ctrs, id, json_pack("{ss ss}", "Name", name, "MacAddress", strlen(id) >= 10 ? macs : ""));
    return 0;
  }
  struct cidr c;
  struct in_addr gw, a = {0};
  if (net_subnet(net, &c, &gw, err) < 0)
    return -1;
  const char *k;
  json_t *v;
  if (want && *want) {
    if (ip_parse(want, &a, err) < 0)
      return err_context(err, "--ip");
    uint32_t h = ntohl(a.s_addr) - ntohl(c.addr.s_addr);
    char s[24];
    cidr_format(&c, s, sizeof s);
    if (!cidr_contains(&c, a) || h == 0 || h == cidr_size(&c) - 1 || a.s_addr == gw.s_addr)
      return err_make(err, EINVAL, "--ip %s is not a free host address of network `%s` (%s, gateway %s)", want,
                      net_name(net), s, json_string_value(json_object_get(json_array_get(
                                        json_object_get(json_object_get(net, "IPAM"), "Config"), 0), "Gateway")));
    json_object_foreach(ctrs, k, v)
    {
      struct in_addr o;
      if (member_ip(v, &o) && o.s_addr == a.s_addr)
        return err_make(err, EADDRINUSE, "--ip %s: the address is taken by `%s` on network `%s`", want,
                        json_string_value(json_object_get(v, "Name")), net_name(net));
    }
  } else {
    /* the lowest free host address */
    uint32_t n = cidr_size(&c);
    unsigned char *used = calloc(n, 1);
    if (!used)
      return err_make(err, ENOMEM, "out of memory");
    json_object_foreach(ctrs, k, v)
    {
      struct in_addr o;
      if (member_ip(v, &o) && cidr_contains(&c, o))
        used[ntohl(o.s_addr) - ntohl(c.addr.s_addr)] = 1;
    }
    if (cidr_contains(&c, gw))
      used[ntohl(gw.s_addr) - ntohl(c.addr.s_addr)] = 1;
    uint32_t h;
    for (h = 1; h < n - 1 && used[h]; h++)
      ;
    free(used);
    if (h >= n - 1)
      return err_make(err, ENOSPC, "network `%s` has no free address left", net_name(net));
    a = cidr_host(&c, h);
  }
  char ip[INET_ADDRSTRLEN], cidr[32], macs[18];
  unsigned char mac[6];
  inet_ntop(AF_INET, &a, ip, sizeof ip);
  snprintf(cidr, sizeof cidr, "%s/%d", ip, c.prefix);
  net_mac_of(a, mac);
  snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  json_object_set_new(ctrs, id, json_pack("{ss ss ss}", "Name", name, "IPv4Address", cidr, "MacAddress", macs));
  return 0;
}

void ipam_release(json_t *net, const char *id)
{
  json_object_del(json_object_get(net, "Containers"), id);
}

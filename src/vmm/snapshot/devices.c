#include "vmm/snapshot/devices.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/ratelimit.h"
#include "vmm/vm.h"

static void mac_text(const uint8_t *m, char out[18])
{
  snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* The interface id the API shows: its own, or ethN for one from the
 * command line. */
static const char *iface_id(const struct vm_net *n, int i, char buf[16])
{
  if (n->id)
    return n->id;
  snprintf(buf, 16, "eth%d", i);
  return buf;
}

/* A limiter under `key`, when it limits anything. */
static int set_limit(json_t *obj, const char *key, const struct ratelimit_config *c)
{
  json_t *l = ratelimit_to_json(c);
  return !obj ? -1 : l ? json_object_set_new(obj, key, l) : 0;
}

/* The limiter under `key` of `v`, named `where`[i].key in errors. */
static int get_limit(json_t *v, const char *key, const char *where, const char *list, size_t i,
                     struct ratelimit_config *c, err_t *err)
{
  char field[160];
  snprintf(field, sizeof field, "%s: %s[%zu].%s", where, list, i, key);
  return ratelimit_from_json(json_object_get(v, key), field, c, err);
}

int devices_to_json(const struct vm_config *c, json_t *j)
{
  json_t *drives = json_array(), *nets = json_array();
  int r = json_object_set_new(j, "drives", drives) | json_object_set_new(j, "network-interfaces", nets);
  for (int i = 0; i < c->ndisks; i++) {
    const struct virtio_blk_config *d = &c->disks[i];
    json_t *dj = json_pack("{ss ss sb sb ss}", "drive_id", d->id ? d->id : "", "path_on_host", d->path,
                           "is_root_device", 0, "is_read_only", d->ro, "io_engine", d->sync_io ? "Sync" : "Async");
    r |= set_limit(dj, "rate_limiter", &d->rate_limiter);
    r |= json_array_append_new(drives, dj);
  }
  for (int i = 0; i < c->nnets; i++) {
    char id[16], mac[18];
    json_t *n = json_pack("{ss ss}", "iface_id", iface_id(&c->nets[i], i, id), "host_dev_name",
                          c->nets[i].tap);
    if (n && c->nets[i].has_mac) {
      mac_text(c->nets[i].mac, mac);
      r |= json_object_set_new(n, "guest_mac", json_string(mac));
    }
    r |= set_limit(n, "rx_rate_limiter", &c->nets[i].rx_rate_limiter);
    r |= set_limit(n, "tx_rate_limiter", &c->nets[i].tx_rate_limiter);
    r |= json_array_append_new(nets, n);
  }
  if (c->vsock.cid)
    r |= json_object_set_new(j, "vsock", json_pack("{sIss}", "guest_cid", (json_int_t)c->vsock.cid,
                                                   "uds_path", c->vsock.uds));
  if (c->rng) {
    json_t *e = json_object();
    r |= set_limit(e, "rate_limiter", &c->rng_rate_limiter);
    r |= json_object_set_new(j, "entropy", e);
  }
  if (c->virtio_console)
    r |= json_object_set_new(j, "virtio-console", json_pack("{ss}", "socket_path", c->virtio_console));
  return r ? -1 : 0;
}

int devices_parse_mac(const char *s, uint8_t mac[6])
{
  unsigned m[6];
  if (strlen(s) != 17 ||
      sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    return -1;
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t)m[i];
  return 0;
}

#define BAD(...) err_make(err, EINVAL, __VA_ARGS__)

int devices_from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  json_t *drives = json_object_get(j, "drives"), *nets = json_object_get(j, "network-interfaces");
  if (json_array_size(drives) + json_array_size(nets) > VM_MAX_VIRTIO)
    return BAD("%s: more than %d virtio devices", where, VM_MAX_VIRTIO);
  c->ndisks = c->nnets = 0;
  size_t i;
  json_t *v;
  json_array_foreach(drives, i, v)
  {
    const char *id = NULL, *path = NULL, *engine = "Async";
    int ro = 0;
    if (json_unpack(v, "{s:s, s:s, s?b, s?s}", "drive_id", &id, "path_on_host", &path,
                    "is_read_only", &ro, "io_engine", &engine) < 0)
      return BAD("%s: drives[%zu] is malformed (drive_id, path_on_host)", where, i);
    struct virtio_blk_config *d = &c->disks[c->ndisks++];
    *d = (struct virtio_blk_config){.path = path, .ro = ro, .id = *id ? id : NULL,
                                    .sync_io = !strcmp(engine, "Sync")};
    if (get_limit(v, "rate_limiter", where, "drives", i, &d->rate_limiter, err) < 0)
      return -1;
  }
  json_array_foreach(nets, i, v)
  {
    const char *id = NULL, *tap = NULL, *mac = NULL;
    if (json_unpack(v, "{s:s, s:s, s?s}", "iface_id", &id, "host_dev_name", &tap, "guest_mac", &mac) < 0)
      return BAD("%s: network-interfaces[%zu] is malformed (iface_id, host_dev_name)", where, i);
    struct vm_net *n = &c->nets[c->nnets++];
    *n = (struct vm_net){.id = id, .tap = tap};
    if (mac && devices_parse_mac(mac, n->mac) < 0)
      return BAD("%s: network-interfaces[%zu].guest_mac `%s` is not a MAC address", where, i, mac);
    n->has_mac = mac != NULL;
    if (get_limit(v, "rx_rate_limiter", where, "network-interfaces", i, &n->rx_rate_limiter, err) < 0 ||
        get_limit(v, "tx_rate_limiter", where, "network-interfaces", i, &n->tx_rate_limiter, err) < 0)
      return -1;
  }
  json_t *vs = json_object_get(j, "vsock");
  c->vsock = (struct virtio_vsock_config){0};
  if (vs) {
    json_int_t cid = 0;
    const char *uds = NULL;
    if (json_unpack(vs, "{s:I, s:s}", "guest_cid", &cid, "uds_path", &uds) < 0 || cid < 3)
      return BAD("%s: vsock is malformed (guest_cid, uds_path)", where);
    c->vsock = (struct virtio_vsock_config){.cid = (uint64_t)cid, .uds = uds};
  }
  c->rng = json_object_get(j, "entropy") != NULL;
  c->rng_rate_limiter = (struct ratelimit_config){0};
  char field[160];
  snprintf(field, sizeof field, "%s: entropy.rate_limiter", where);
  if (c->rng && ratelimit_from_json(json_object_get(json_object_get(j, "entropy"), "rate_limiter"), field,
                                    &c->rng_rate_limiter, err) < 0)
    return -1;
  c->virtio_console = NULL;
  json_t *con = json_object_get(j, "virtio-console");
  if (con && json_unpack(con, "{s:s}", "socket_path", &c->virtio_console) < 0)
    return BAD("%s: virtio-console is malformed (socket_path)", where);
  return 0;
}

int devices_find_net(const struct vm_config *c, const char *id)
{
  for (int i = 0; i < c->nnets; i++) {
    char buf[16];
    if (!strcmp(iface_id(&c->nets[i], i, buf), id))
      return i;
  }
  return -1;
}

int devices_override_tap(struct vm_config *c, const char *id, const char *tap, err_t *err)
{
  int i = devices_find_net(c, id);
  if (i < 0)
    return err_make(err, ENOENT, "the snapshot has no network interface `%s`", id);
  c->nets[i].tap = tap;
  return 0;
}

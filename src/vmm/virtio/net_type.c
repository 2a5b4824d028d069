/* virtio-net as a VMM device type: the config's "network-interfaces", one
 * slot per NIC after the disks, the net_ethN metrics; and the interface
 * ids the API and snapshot loads look NICs up by. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/registry.h"
#include "vmm/snapshot/devices.h"
#include "vmm/vm.h"

static int count(const struct vm_config *c)
{
  return c->nnets;
}

static int add_net(struct vm *vm, const struct vm_net *cfg, err_t *err)
{
  struct virtio_net *n = &vm->nets[vm->nnets];
  struct virtio_net_config nc = {cfg->tap, cfg->has_mac ? cfg->mac : NULL, cfg->rx_rate_limiter,
                                 cfg->tx_rate_limiter};
  if (virtio_net_open(n, &nc, err) < 0) {
    virtio_net_close(n);
    return -1;
  }
  vm->nnets++;
  if (vm_add_slot(vm, virtio_net_ops(n), n, &n->m, err) < 0)
    return -1;
  if (vm_watch_timer(vm, &n->rx_rl, virtio_net_on_rx_timer, n, err) < 0 ||
      vm_watch_timer(vm, &n->tx_rl, virtio_net_on_tx_timer, n, err) < 0)
    return -1;
  return evloop_add(&vm->loop, n->tap_fd, EPOLLIN | EPOLLET, virtio_net_on_tap, n, err);
}

static int attach(struct vm *vm, const struct vm_config *c, err_t *err)
{
  for (int i = 0; i < c->nnets; i++)
    if (add_net(vm, &c->nets[i], err) < 0)
      return -1;
  return 0;
}

static void release(struct vm *vm)
{
  for (int i = 0; i < vm->nnets; i++) {
    evloop_remove(&vm->loop, vm->nets[i].tap_fd);
    virtio_net_close(&vm->nets[i]);
  }
  vm->nnets = 0;
}

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

static int to_json(const struct vm_config *c, json_t *j)
{
  json_t *nets = json_array();
  int r = json_object_set_new(j, "network-interfaces", nets);
  for (int i = 0; i < c->nnets; i++) {
    char id[16], mac[18];
    json_t *n = json_pack("{ss ss}", "iface_id", iface_id(&c->nets[i], i, id), "host_dev_name", c->nets[i].tap);
    if (n && c->nets[i].has_mac) {
      mac_text(c->nets[i].mac, mac);
      r |= json_object_set_new(n, "guest_mac", json_string(mac));
    }
    r |= vmm_json_set_limit(n, "rx_rate_limiter", &c->nets[i].rx_rate_limiter);
    r |= vmm_json_set_limit(n, "tx_rate_limiter", &c->nets[i].tx_rate_limiter);
    r |= json_array_append_new(nets, n);
  }
  return r ? -1 : 0;
}

static int from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  json_t *nets = json_object_get(j, "network-interfaces");
  c->nnets = 0;
  if (json_array_size(nets) > VM_MAX_VIRTIO)
    return err_make(err, EINVAL, "%s: more than %d virtio devices", where, VM_MAX_VIRTIO);
  size_t i;
  json_t *v;
  json_array_foreach(nets, i, v)
  {
    const char *id = NULL, *tap = NULL, *mac = NULL;
    if (json_unpack(v, "{s:s, s:s, s?s}", "iface_id", &id, "host_dev_name", &tap, "guest_mac", &mac) < 0)
      return err_make(err, EINVAL, "%s: network-interfaces[%zu] is malformed (iface_id, host_dev_name)", where,
                      i);
    struct vm_net *n = &c->nets[c->nnets++];
    *n = (struct vm_net){.id = id, .tap = tap};
    if (mac && devices_parse_mac(mac, n->mac) < 0)
      return err_make(err, EINVAL, "%s: network-interfaces[%zu].guest_mac `%s` is not a MAC address", where, i,
                      mac);
    n->has_mac = mac != NULL;
    if (vmm_json_get_limit(v, "rx_rate_limiter", where, "network-interfaces", i, &n->rx_rate_limiter, err) < 0 ||
        vmm_json_get_limit(v, "tx_rate_limiter", where, "network-interfaces", i, &n->tx_rate_limiter, err) < 0)
      return -1;
  }
  return 0;
}

#define LOAD(x) ((json_int_t)__atomic_load_n(&(x), __ATOMIC_RELAXED))

static void metrics(struct vm *vm, json_t *j)
{
  for (int i = 0; i < vm->nnets; i++) {
    struct virtio_net *n = &vm->nets[i];
    char g[48];
    snprintf(g, sizeof g, "net_eth%d", i);
    json_object_set_new(j, g, json_pack("{sI sI sI sI sI sI sI sI}", "rx_packets_count", LOAD(n->rx_frames),
                                        "rx_bytes_count", LOAD(n->rx_bytes), "rx_dropped", LOAD(n->rx_dropped),
                                        "tx_packets_count", LOAD(n->tx_frames), "tx_bytes_count", LOAD(n->tx_bytes),
                                        "tx_dropped", LOAD(n->tx_dropped), "rx_rate_limiter_throttled",
                                        LOAD(n->rx_rl.throttled), "tx_rate_limiter_throttled",
                                        LOAD(n->tx_rl.throttled)));
  }
}

const struct vmm_device_type virtio_net_type = {
    .name = "virtio-net",
    .kind = VMM_DEVICE_VIRTIO,
    .section = "network-interfaces",
    .id_field = "iface_id",
    .count = count,
    .attach = attach,
    .release = release,
    .to_json = to_json,
    .from_json = from_json,
    .metrics = metrics,
};

int devices_parse_mac(const char *s, uint8_t mac[6])
{
  unsigned m[6];
  if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    return -1;
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t)m[i];
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

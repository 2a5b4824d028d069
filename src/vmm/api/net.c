/* Network interfaces: PUT /network-interfaces/{id} before boot, PATCH
 * after it. */
#include <string.h>

#include "vmm/api/internal.h"
#include "vmm/snapshot/devices.h"

struct reply api_put_net(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  const char *id = rq->id;
  static const char *const known[] = {"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
                                      "tx_rate_limiter", NULL};
  struct reply r;
  const char *iid = NULL, *tap = NULL, *mac = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "iface_id", true, &iid, &r) < 0 ||
      api_str_field(b, "host_dev_name", true, &tap, &r) < 0 || api_str_field(b, "guest_mac", false, &mac, &r) < 0)
    return r;
  if (strcmp(iid, id))
    return api_fault(400, "iface_id: `%s` differs from the path's `%s`", iid, id);
  struct vm_net n = {0};
  if (api_limit_field(b, "rx_rate_limiter", &n.rx_rate_limiter, &r) < 0 ||
      api_limit_field(b, "tx_rate_limiter", &n.tx_rate_limiter, &r) < 0)
    return r;
  if (mac) {
    if (devices_parse_mac(mac, n.mac) < 0)
      return api_fault(400, "guest_mac: `%s` is not a MAC address (XX:XX:XX:XX:XX:XX)", mac);
    n.has_mac = true;
  }
  struct vm_config *c = a->cfg;
  int slot = devices_find_net(c, id); /* PUT again: replaced, as a drive is */
  if (slot < 0 && c->ndisks + c->nnets >= VM_MAX_VIRTIO)
    return api_fault(400, "iface_id: a VM has at most %d virtio devices", VM_MAX_VIRTIO);
  n.tap = api_own(a, tap);
  n.id = api_own(a, id);
  if (!n.tap || !n.id)
    return API_OUT_OF_MEMORY;
  c->nets[slot < 0 ? c->nnets++ : slot] = n;
  return API_NO_CONTENT;
}

struct reply api_patch_net(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  const char *id = rq->id;
  static const char *const known[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
  struct reply r;
  const char *iid = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "iface_id", true, &iid, &r) < 0)
    return r;
  if (strcmp(iid, id))
    return api_fault(400, "iface_id: `%s` differs from the path's `%s`", iid, id);
  int i = devices_find_net(a->cfg, id);
  if (i < 0)
    return api_fault(400, "iface_id: the microVM has no network interface `%s`", id);
  struct vm_net *cfg = &a->cfg->nets[i];
  struct ratelimit_config rx = cfg->rx_rate_limiter, tx = cfg->tx_rate_limiter;
  if (api_limit_field(b, "rx_rate_limiter", &rx, &r) < 0 || api_limit_field(b, "tx_rate_limiter", &tx, &r) < 0)
    return r;
  if (!a->vm)
    return api_fault(400, "the microVM is not running");
  struct virtio_net *n = &a->vm->nets[i];
  err_t err = NULL;
  if (json_object_get(b, "rx_rate_limiter")) {
    if (vm_set_rate_limit(a->vm, &n->rx_rl, virtio_net_on_rx_timer, n, &rx, &err) < 0)
      return api_fault_err("rx_rate_limiter", &err);
    cfg->rx_rate_limiter = rx;
  }
  if (json_object_get(b, "tx_rate_limiter")) {
    if (vm_set_rate_limit(a->vm, &n->tx_rl, virtio_net_on_tx_timer, n, &tx, &err) < 0)
      return api_fault_err("tx_rate_limiter", &err);
    cfg->tx_rate_limiter = tx;
  }
  return API_NO_CONTENT;
}

struct reply api_patch_net_preboot(struct api *a, const struct api_call *rq)
{
  (void)a;
  return api_fault(400, "PATCH /network-interfaces/%s: network interfaces are patched once the microVM runs", rq->id);
}

/* virtio-vsock as a VMM device type: the config's "vsock" (one device, at
 * most), its metrics, and the reset of its connections after a restore
 * (their host side stayed with the process that took the snapshot). */
#include <errno.h>

#include "vmm/registry.h"
#include "vmm/vm.h"

static int count(const struct vm_config *c)
{
  return c->vsock.cid != 0;
}

static int attach(struct vm *vm, const struct vm_config *c, err_t *err)
{
  if (!c->vsock.cid)
    return 0;
  if (virtio_vsock_open(&vm->vsock, &c->vsock, &vm->loop, err) < 0)
    return -1;
  vm->has_vsock = true;
  return vm_add_slot(vm, &virtio_vsock_ops, &vm->vsock, &vm->vsock.m, err);
}

static void release(struct vm *vm)
{
  if (vm->has_vsock)
    virtio_vsock_close(&vm->vsock);
  vm->has_vsock = false;
}

static int to_json(const struct vm_config *c, json_t *j)
{
  if (!c->vsock.cid)
    return 0;
  return json_object_set_new(j, "vsock",
                             json_pack("{sIss}", "guest_cid", (json_int_t)c->vsock.cid, "uds_path", c->vsock.uds));
}

static int from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  json_t *vs = json_object_get(j, "vsock");
  c->vsock = (struct virtio_vsock_config){0};
  if (!vs)
    return 0;
  json_int_t cid = 0;
  const char *uds = NULL;
  if (json_unpack(vs, "{s:I, s:s}", "guest_cid", &cid, "uds_path", &uds) < 0 || cid < 3)
    return err_make(err, EINVAL, "%s: vsock is malformed (guest_cid, uds_path)", where);
  c->vsock = (struct virtio_vsock_config){.cid = (uint64_t)cid, .uds = uds};
  return 0;
}

#define LOAD(x) ((json_int_t)__atomic_load_n(&(x), __ATOMIC_RELAXED))

static void metrics(struct vm *vm, json_t *j)
{
  if (vm->has_vsock)
    json_object_set_new(j, "vsock", json_pack("{sI sI sI sI}", "rx_packets_count", LOAD(vm->vsock.rx_packets),
                                              "tx_packets_count", LOAD(vm->vsock.tx_packets), "conns_added",
                                              LOAD(vm->vsock.conns_opened), "conns_reset", LOAD(vm->vsock.resets)));
}

static void restored(struct vm *vm)
{
  if (vm->has_vsock)
    virtio_vsock_restored(&vm->vsock);
}

const struct vmm_device_type virtio_vsock_type = {
    .name = "virtio-vsock",
    .kind = VMM_DEVICE_VIRTIO,
    .section = "vsock",
    .count = count,
    .attach = attach,
    .release = release,
    .to_json = to_json,
    .from_json = from_json,
    .metrics = metrics,
    .restored = restored,
};

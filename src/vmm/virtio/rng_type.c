/* virtio-rng as a VMM device type: the config's "entropy" (Firecracker's
 * name), its rate limiter's timer, the rng metrics. */
#include <errno.h>

#include "vmm/registry.h"
#include "vmm/vm.h"

static int count(const struct vm_config *c)
{
  return c->rng;
}

static int attach(struct vm *vm, const struct vm_config *c, err_t *err)
{
  if (!c->rng)
    return 0;
  if (virtio_rng_open(&vm->rng, &c->rng_rate_limiter, err) < 0)
    return -1;
  vm->has_rng = true;
  if (vm_add_slot(vm, &virtio_rng_ops, &vm->rng, &vm->rng.m, err) < 0)
    return -1;
  return vm_watch_timer(vm, &vm->rng.rl, virtio_rng_on_timer, &vm->rng, err);
}

static void release(struct vm *vm)
{
  if (vm->has_rng) {
    evloop_remove(&vm->loop, ratelimit_fd(&vm->rng.rl));
    virtio_rng_close(&vm->rng);
  }
  vm->has_rng = false;
}

static int to_json(const struct vm_config *c, json_t *j)
{
  if (!c->rng)
    return 0;
  json_t *e = json_object();
  int r = vmm_json_set_limit(e, "rate_limiter", &c->rng_rate_limiter);
  r |= json_object_set_new(j, "entropy", e);
  return r ? -1 : 0;
}

static int from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  json_t *e = json_object_get(j, "entropy");
  c->rng = e != NULL;
  c->rng_rate_limiter = (struct ratelimit_config){0};
  if (!c->rng)
    return 0;
  return vmm_json_get_limit(e, "rate_limiter", where, "entropy", VMM_JSON_SINGLE, &c->rng_rate_limiter, err);
}

#define LOAD(x) ((json_int_t)__atomic_load_n(&(x), __ATOMIC_RELAXED))

/* Always there, as Firecracker's metrics have it (zero without a device). */
static void metrics(struct vm *vm, json_t *j)
{
  json_object_set_new(j, "rng", json_pack("{sI sI}", "entropy_bytes", LOAD(vm->rng.bytes),
                                          "entropy_rate_limiter_throttled", LOAD(vm->rng.rl.throttled)));
}

const struct vmm_device_type virtio_rng_type = {
    .name = "virtio-rng",
    .kind = VMM_DEVICE_VIRTIO,
    .section = "entropy",
    .count = count,
    .attach = attach,
    .release = release,
    .to_json = to_json,
    .from_json = from_json,
    .metrics = metrics,
};

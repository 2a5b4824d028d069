/* The device table.  A new device type adds its line here, in the slot
 * order it wants: nothing else outside its own files names it. */
#include "vmm/registry.h"

#include <stdio.h>
#include <string.h>

#include "vmm/ratelimit.h"
#include "vmm/vm.h"

extern const struct vmm_device_type virtio_blk_type, virtio_net_type, virtio_vsock_type, virtio_console_type,
    virtio_rng_type, serial_type;

const struct vmm_device_type *const vmm_device_types[] = {
    &virtio_blk_type,     /* virtio/blk_type.c: first, so that the guest's vda is the first --disk */
    &virtio_net_type,     /* virtio/net_type.c */
    &virtio_vsock_type,   /* virtio/vsock_type.c */
    &virtio_console_type, /* virtio/console_type.c */
    &virtio_rng_type,     /* virtio/rng_type.c */
    &serial_type,         /* devices/serial_type.c */
    NULL,
};

_Static_assert(sizeof vmm_device_types / sizeof *vmm_device_types <= VMM_MAX_DEVICE_TYPES + 1,
               "more device types than struct vm has state slots for: raise VMM_MAX_DEVICE_TYPES");

void **vmm_device_state(struct vm *vm, const struct vmm_device_type *t)
{
  size_t i = 0;
  while (vmm_device_types[i] && vmm_device_types[i] != t)
    i++;
  return vmm_device_types[i] ? &vm->device_state[i] : NULL;
}

const struct vmm_device_type *vmm_device_by_tag(uint32_t tag)
{
  vmm_foreach_device_type(t) {
    if (t->save && t->state_tag == tag)
      return t;
  }
  return NULL;
}

const struct vmm_device_type *vmm_device_by_section(const char *section)
{
  vmm_foreach_device_type(t) {
    if (t->section && !strcmp(t->section, section))
      return t;
  }
  return NULL;
}

json_t *vmm_device_section(const struct vm_config *c, const struct vmm_device_type *t)
{
  return t->api_section ? json_object_get(c->device_sections, t->section) : NULL;
}

int vmm_devices_count(const struct vm_config *c)
{
  int n = 0;
  vmm_foreach_device_type(t) {
    if (t->count)
      n += t->count(c);
  }
  return n;
}

int vmm_json_set_limit(json_t *obj, const char *key, const struct ratelimit_config *c)
{
  json_t *l = ratelimit_to_json(c);
  return !obj ? -1 : l ? json_object_set_new(obj, key, l) : 0;
}

int vmm_json_get_limit(json_t *v, const char *key, const char *where, const char *list, size_t i,
                       struct ratelimit_config *c, err_t *err)
{
  char field[160];
  if (i == VMM_JSON_SINGLE)
    snprintf(field, sizeof field, "%s: %s.%s", where, list, key);
  else
    snprintf(field, sizeof field, "%s: %s[%zu].%s", where, list, i, key);
  return ratelimit_from_json(json_object_get(v, key), field, c, err);
}

/* The device sections, each written and read by its device type. */
#include "vmm/snapshot/devices.h"

#include <errno.h>

#include "vmm/registry.h"
#include "vmm/vm.h"

int devices_to_json(const struct vm_config *c, json_t *j)
{
  vmm_foreach_device_type(t) {
    if (t->to_json && t->to_json(c, j) < 0)
      return -1;
  }
  return 0;
}

int devices_from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  c->device_sections = j; /* where the api_section types find theirs */
  vmm_foreach_device_type(t) {
    if (t->from_json && t->from_json(j, c, where, err) < 0)
      return -1;
  }
  if (vmm_devices_count(c) > VM_MAX_VIRTIO)
    return err_make(err, EINVAL, "%s: more than %d virtio devices", where, VM_MAX_VIRTIO);
  return 0;
}

bool devices_any(const struct vm_config *c)
{
  return vmm_devices_count(c) > 0;
}

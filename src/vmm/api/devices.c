/* The endpoints of device types that keep their config as their JSON
 * section (api_section in vmm/registry.h): PUT /<section> before
 * InstanceStart, PATCH /<section> of the running device, GET /<section>.
 * A new device of that kind gets its API from here, with no route or
 * handler of its own. */
#include <string.h>

#include "vmm/api/internal.h"
#include "vmm/registry.h"
#include "vmm/vm.h"

static struct reply put_section(struct api *a, const struct vmm_device_type *t, const struct api_call *rq)
{
  if (a->cfg->restore_state)
    return api_fault(400, "%s: a loaded snapshot brings its own devices", rq->url);
  /* checked as it will be read back: the section of a device record */
  json_t *probe = json_pack("{sO}", t->section, rq->body);
  struct vm_config scratch = *a->cfg;
  err_t err = NULL;
  int r = probe ? t->from_json(probe, &scratch, rq->url, &err) : -1;
  json_decref(probe);
  if (!probe)
    return API_OUT_OF_MEMORY;
  if (r < 0)
    return api_fault_err(NULL, &err);
  bool had = vmm_device_section(a->cfg, t) != NULL;
  if (!a->device_sections && !(a->device_sections = json_object()))
    return API_OUT_OF_MEMORY;
  if (json_object_set(a->device_sections, t->section, rq->body) < 0)
    return API_OUT_OF_MEMORY;
  a->cfg->device_sections = a->device_sections;
  if (!had && vmm_devices_count(a->cfg) > VM_MAX_VIRTIO) {
    json_object_del(a->device_sections, t->section);
    return api_fault(400, "too many virtio devices: isola-vmm gives a VM at most %d", VM_MAX_VIRTIO);
  }
  return API_NO_CONTENT;
}

struct reply api_device_section(struct api *a, const struct vmm_device_type *t, const struct api_call *rq)
{
  if (!strcmp(rq->method, "GET")) {
    json_t *s = vmm_device_section(a->cfg, t);
    return s ? api_ok_json(json_deep_copy(s)) : api_fault(400, "%s: no %s is configured", rq->url, t->name);
  }
  if (rq->patch && a->started) {
    if (!t->patch || !a->vm)
      return api_fault(400, "PATCH %s: %s cannot be changed while the microVM runs", rq->url, t->name);
    err_t err = NULL;
    return t->patch(a->vm, rq->body, &err) < 0 ? api_fault_err(NULL, &err) : API_NO_CONTENT;
  }
  if (a->started)
    return api_fault(400, "%s %s: the microVM is started; this is configured before InstanceStart", rq->method,
                     rq->url);
  if (rq->patch)
    return api_fault(400, "PATCH %s changes a running %s; before InstanceStart, PUT it", rq->url, t->name);
  return put_section(a, t, rq);
}

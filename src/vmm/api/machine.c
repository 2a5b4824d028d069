/* The machine: boot-source, machine-config and what GET /vm/config and
 * GET /machine-config answer. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api/internal.h"
#include "vmm/layout.h"
#include "vmm/snapshot/devices.h"

struct reply api_put_boot_source(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  static const char *const known[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
  struct reply r;
  const char *k = NULL, *args = NULL, *initrd = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "kernel_image_path", true, &k, &r) < 0 ||
      api_str_field(b, "boot_args", false, &args, &r) < 0 || api_str_field(b, "initrd_path", false, &initrd, &r) < 0)
    return r;
  if (access(k, R_OK) < 0)
    return api_fault(400, "kernel_image_path: cannot read `%s`: %s", k, strerror(errno));
  if (initrd && access(initrd, R_OK) < 0)
    return api_fault(400, "initrd_path: cannot read `%s`: %s", initrd, strerror(errno));
  const char *kc = api_own(a, k), *ac = args ? api_own(a, args) : a->cfg->cmdline, *ic = initrd ? api_own(a, initrd) : NULL;
  if (!kc || !ac || (initrd && !ic))
    return API_OUT_OF_MEMORY;
  a->cfg->kernel = kc;
  a->cfg->cmdline = ac;
  a->cfg->initrd = ic;
  return API_NO_CONTENT;
}

struct reply api_put_machine_config(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  bool patch = rq->patch;
  static const char *const known[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "huge_pages",
                                      "cpu_template", NULL};
  struct reply r;
  long cpus = a->cfg->ncpus, mem = (long)(a->cfg->memory / MiB);
  bool smt = false, dirty = patch && a->cfg->track_dirty;
  const char *huge = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_int_field(b, "vcpu_count", !patch, 1, VMM_MAX_CPUS, &cpus, &r) < 0 ||
      api_int_field(b, "mem_size_mib", !patch, (long)(VMM_MIN_MEMORY / MiB), (long)(VMM_MAX_MEMORY / MiB), &mem,
                &r) < 0 ||
      api_bool_field(b, "smt", &smt, &r) < 0 || api_bool_field(b, "track_dirty_pages", &dirty, &r) < 0 ||
      api_str_field(b, "huge_pages", false, &huge, &r) < 0)
    return r;
  if (smt)
    return api_fault(400, "smt: simultaneous multithreading is not offered to guests");
  if (huge && strcmp(huge, "None") && strcmp(huge, "2M"))
    return api_fault(400, "huge_pages: `%s` is not None or 2M", huge);
  a->cfg->ncpus = (int)cpus;
  a->cfg->memory = (uint64_t)mem * MiB;
  if (huge)
    a->cfg->hugepages = !strcmp(huge, "2M");
  a->cfg->track_dirty = dirty;
  return API_NO_CONTENT;
}

static json_t *machine_config_json(const struct vm_config *c)
{
  return json_pack("{sI sI sb sb ss}", "vcpu_count", (json_int_t)c->ncpus, "mem_size_mib", (json_int_t)(c->memory / MiB),
                   "smt", 0, "track_dirty_pages", c->track_dirty, "huge_pages", c->hugepages ? "2M" : "None");
}

static json_t *vm_config_json(struct api *a)
{
  struct vm_config *c = a->cfg;
  json_t *j = json_pack("{s{sssssn} so}", "boot-source", "kernel_image_path", c->kernel ? c->kernel : "",
                        "boot_args", c->cmdline ? c->cmdline : "", "initrd_path", "machine-config",
                        machine_config_json(c));
  if (j && c->initrd)
    json_object_set_new(json_object_get(j, "boot-source"), "initrd_path", json_string(c->initrd));
  if (j && devices_to_json(c, j) < 0) {
    json_decref(j);
    return NULL;
  }
  return j;
}

struct reply api_get_machine_config(struct api *a, const struct api_call *rq)
{
  (void)rq;
  return api_ok_json(machine_config_json(a->cfg));
}

struct reply api_get_vm_config(struct api *a, const struct api_call *rq)
{
  (void)rq;
  return api_ok_json(vm_config_json(a));
}

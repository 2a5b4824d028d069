/* The running microVM: its state (GET /), pause and resume (PATCH /vm),
 * and the actions (InstanceStart, SendCtrlAltDel, FlushMetrics). */
#include <string.h>

#include "config.h"
#include "vmm/api/internal.h"
#include "vmm/devices/i8042.h"
#include "vmm/metrics.h"

static const char *state_name(struct api *a)
{
  if (!a->vm)
    return "Not started";
  return vm_is_paused(a->vm) ? "Paused" : "Running";
}

struct reply api_get_root(struct api *a, const struct api_call *rq)
{
  (void)rq;
  return api_ok_json(json_pack("{ss ss ss ss}", "id", "isola-vmm", "state", state_name(a), "vmm_version",
                               ISOLA_VERSION, "app_name", "isola-vmm"));
}

struct reply api_get_version(struct api *a, const struct api_call *rq)
{
  (void)a, (void)rq;
  return api_ok_json(json_pack("{ss}", "firecracker_version", ISOLA_VERSION));
}

struct reply api_patch_vm(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  static const char *const known[] = {"state", NULL};
  struct reply r;
  const char *st = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "state", true, &st, &r) < 0)
    return r;
  if (!a->vm)
    return api_fault(400, "the microVM is not started: send InstanceStart first");
  if (!strcmp(st, "Paused")) {
    err_t err = NULL;
    if (vm_pause(a->vm, &err) < 0)
      return api_fault_err("cannot pause", &err);
    return API_NO_CONTENT;
  }
  if (!strcmp(st, "Resumed")) {
    vm_resume(a->vm);
    return API_NO_CONTENT;
  }
  return api_fault(400, "state: `%s` is not Paused or Resumed", st);
}

struct reply api_put_actions(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  static const char *const known[] = {"action_type", NULL};
  struct reply r;
  const char *t = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "action_type", true, &t, &r) < 0)
    return r;
  if (!strcmp(t, "InstanceStart")) {
    if (a->started)
      return api_fault(400, "the microVM is started already");
    if (!a->cfg->kernel)
      return api_fault(400, "no kernel: PUT /boot-source with kernel_image_path first");
    return API_NO_CONTENT;
  }
  if (!strcmp(t, "SendCtrlAltDel")) {
    if (!a->vm)
      return api_fault(400, "the microVM is not started");
    i8042_ctrl_alt_del(&a->vm->i8042);
    return API_NO_CONTENT;
  }
  if (!strcmp(t, "FlushMetrics")) {
    err_t err = NULL;
    if (metrics_flush(a->vm, &err) < 0)
      return api_fault_err(NULL, &err);
    return API_NO_CONTENT;
  }
  return api_fault(400, "action_type: `%s` is not InstanceStart, SendCtrlAltDel or FlushMetrics", t);
}

struct reply api_put_metrics(struct api *a, const struct api_call *rq)
{
  (void)a;
  json_t *b = rq->body;
  static const char *const known[] = {"metrics_path", NULL};
  struct reply r;
  const char *path = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "metrics_path", true, &path, &r) < 0)
    return r;
  err_t err = NULL;
  if (metrics_open(path, &err) < 0)
    return api_fault_err(NULL, &err);
  return API_NO_CONTENT;
}

struct reply api_put_logger(struct api *a, const struct api_call *rq)
{
  (void)a, (void)rq;
  return API_NO_CONTENT; /* isola-vmm logs to stderr; --log-level sets the level */
}

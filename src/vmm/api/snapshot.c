/* Snapshots: PUT /snapshot/create of a running microVM, PUT /snapshot/load
 * into a fresh isola-vmm. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "vmm/api/internal.h"
#include "vmm/snapshot/devices.h"
#include "vmm/snapshot/snapshot.h"

struct reply api_put_snapshot_create(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  static const char *const known[] = {"snapshot_type", "snapshot_path", "mem_file_path", "version", NULL};
  struct reply r;
  const char *type = NULL, *sp = NULL, *mp = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "snapshot_type", false, &type, &r) < 0 ||
      api_str_field(b, "snapshot_path", true, &sp, &r) < 0 || api_str_field(b, "mem_file_path", true, &mp, &r) < 0)
    return r;
  if (type && strcmp(type, "Full") && strcmp(type, "Diff"))
    return api_fault(400, "snapshot_type: `%s` is not Full or Diff", type);
  if (!a->vm)
    return api_fault(400, "the microVM is not started");
  err_t err = NULL;
  if (snapshot_create(a->vm, sp, mp, type && !strcmp(type, "Diff"), &err) < 0)
    return api_fault_err(NULL, &err);
  return API_NO_CONTENT;
}

struct reply api_put_snapshot_load(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  static const char *const known[] = {"snapshot_path", "mem_file_path", "mem_backend", "resume_vm",
                                      "enable_diff_snapshots", "track_dirty_pages", "network_overrides", NULL};
  struct reply r;
  const char *sp = NULL, *mp = NULL;
  bool resume = false, diff = false, track = false;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "snapshot_path", true, &sp, &r) < 0 ||
      api_str_field(b, "mem_file_path", false, &mp, &r) < 0 || api_bool_field(b, "resume_vm", &resume, &r) < 0 ||
      api_bool_field(b, "enable_diff_snapshots", &diff, &r) < 0 || api_bool_field(b, "track_dirty_pages", &track, &r) < 0)
    return r;
  json_t *mb = json_object_get(b, "mem_backend");
  if (mb) {
    const char *type = NULL;
    if (api_str_field(mb, "backend_path", true, &mp, &r) < 0 || api_str_field(mb, "backend_type", true, &type, &r) < 0)
      return r;
    if (strcmp(type, "File"))
      return api_fault(400, "mem_backend.backend_type: only File is built (not `%s`)", type);
  }
  if (!mp)
    return api_fault(400, "mem_backend: missing field (or mem_file_path)");
  if (a->started)
    return api_fault(400, "a snapshot loads into a fresh isola-vmm, before InstanceStart");
  struct vm_config *c = a->cfg;
  if (c->kernel || devices_any(c))
    return api_fault(400, "a snapshot brings its own kernel and devices: load it into an isola-vmm with none "
                      "configured");
  struct vm_config next = *c; /* the config changes only when everything is right */
  _cleanup_json_ json_t *devices = NULL;
  err_t err = NULL;
  if (snapshot_read_config(sp, &next, &devices, &err) < 0)
    return api_fault_err("snapshot_path", &err);
  json_t *ov = json_object_get(b, "network_overrides"), *o;
  size_t i;
  if (ov && !json_is_array(ov))
    return api_fault(400, "network_overrides: must be a list of {iface_id, host_dev_name}");
  r = (struct reply){0};
  json_array_foreach(ov, i, o)
  {
    const char *id = NULL, *tap = NULL;
    if (json_unpack(o, "{s:s, s:s}", "iface_id", &id, "host_dev_name", &tap) < 0)
      r = api_fault(400, "network_overrides[%zu]: needs iface_id and host_dev_name (strings)", i);
    else if (!(tap = api_own(a, tap)))
      r = API_OUT_OF_MEMORY;
    else if (devices_override_tap(&next, id, tap, &err) < 0)
      r = api_fault(400, "network_overrides[%zu].iface_id: %s", i, err_msg(err));
    err_free(&err);
    if (r.status)
      return r;
  }
  if (access(mp, R_OK) < 0)
    return api_fault(400, "mem_backend.backend_path: cannot read `%s`: %s", mp, strerror(errno));
  const char *sc = api_own(a, sp), *mc = api_own(a, mp);
  if (!sc || !mc)
    return API_OUT_OF_MEMORY;
  next.restore_state = sc;
  next.restore_mem = mc;
  next.restore_paused = !resume;
  next.track_dirty = c->track_dirty || diff || track; /* Firecracker's old name and its new one */
  *c = next;
  json_decref(a->snap_devices);
  a->snap_devices = devices; /* the config points into it now */
  devices = NULL;
  return API_NO_CONTENT;
}

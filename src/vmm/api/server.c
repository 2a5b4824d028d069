/* Firecracker's API (firecracker/src/api_server/swagger/firecracker.yaml)
 * over libmicrohttpd on a listening Unix socket. */
#include "vmm/api/api.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/json.h"
#include "common/log.h"
#include "config.h"
#include "vmm/devices/i8042.h"
#include "vmm/layout.h"
#include "vmm/metrics.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot/devices.h"
#include "vmm/snapshot/snapshot.h"

#define MAX_BODY (64 * 1024)

struct reply {
  unsigned status;
  char *body; /* NULL: no content */
};

struct request {
  char *body;
  size_t len;
  bool too_big;
};

static struct reply fault(unsigned status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct reply fault(unsigned status, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *j = json_pack("{ss}", "fault_message", msg);
  struct reply r = {status, json_dumps(j, JSON_COMPACT)};
  json_decref(j);
  return r;
}

static struct reply ok_json(json_t *j)
{
  if (!j)
    return fault(500, "out of memory");
  struct reply r = {200, json_dumps(j, JSON_COMPACT)};
  json_decref(j);
  return r;
}

/* 400 carrying a failed call's message, after `what: ` when given; the
 * error is freed. */
static struct reply fault_err(const char *what, err_t *err)
{
  struct reply r = what ? fault(400, "%s: %s", what, err_msg(*err)) : fault(400, "%s", err_msg(*err));
  err_free(err);
  return r;
}

static const struct reply NO_CONTENT = {204, NULL};
#define OUT_OF_MEMORY fault(500, "out of memory")

/* A copy kept until api_stop (the config points into it); NULL only when
 * memory runs out, which the caller reports. */
static const char *own(struct api *a, const char *s)
{
  char **grown = realloc(a->owned, (size_t)(a->nowned + 1) * sizeof *grown);
  char *copy = strdup(s);
  if (!grown || !copy) {
    free(copy);
    if (grown)
      a->owned = grown;
    return NULL;
  }
  a->owned = grown;
  return a->owned[a->nowned++] = copy;
}

/* ---- field readers: every error names the field ---- */

static int str_field(json_t *b, const char *key, bool required, const char **out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v && !required)
    return 0;
  if (!json_is_string(v)) {
    *r = fault(400, "%s: %s", key, v ? "must be a string" : "missing field");
    return -1;
  }
  *out = json_string_value(v);
  return 0;
}

static int int_field(json_t *b, const char *key, bool required, long min, long max, long *out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v && !required)
    return 0;
  if (!v) {
    *r = fault(400, "%s: missing field", key);
    return -1;
  }
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
    *r = fault(400, "%s: must be a whole number from %ld to %ld", key, min, max);
    return -1;
  }
  *out = (long)json_integer_value(v);
  return 0;
}

static int bool_field(json_t *b, const char *key, bool *out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v)
    return 0;
  if (!json_is_boolean(v)) {
    *r = fault(400, "%s: must be true or false", key);
    return -1;
  }
  *out = json_is_true(v);
  return 0;
}

static int known_fields(json_t *b, const char *const *known, struct reply *r)
{
  const char *k;
  json_t *v;
  json_object_foreach(b, k, v)
  {
    bool found = false;
    for (const char *const *p = known; *p && !found; p++)
      found = !strcmp(*p, k);
    if (!found) {
      *r = fault(400, "unknown field `%s`", k);
      return -1;
    }
  }
  return 0;
}

/* ---- pre-boot configuration ---- */

static struct reply put_boot_source(struct api *a, json_t *b)
{
  static const char *const known[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
  struct reply r;
  const char *k = NULL, *args = NULL, *initrd = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "kernel_image_path", true, &k, &r) < 0 ||
      str_field(b, "boot_args", false, &args, &r) < 0 || str_field(b, "initrd_path", false, &initrd, &r) < 0)
    return r;
  if (access(k, R_OK) < 0)
    return fault(400, "kernel_image_path: cannot read `%s`: %s", k, strerror(errno));
  if (initrd && access(initrd, R_OK) < 0)
    return fault(400, "initrd_path: cannot read `%s`: %s", initrd, strerror(errno));
  const char *kc = own(a, k), *ac = args ? own(a, args) : a->cfg->cmdline, *ic = initrd ? own(a, initrd) : NULL;
  if (!kc || !ac || (initrd && !ic))
    return OUT_OF_MEMORY;
  a->cfg->kernel = kc;
  a->cfg->cmdline = ac;
  a->cfg->initrd = ic;
  return NO_CONTENT;
}

static struct reply put_machine_config(struct api *a, json_t *b, bool patch)
{
  static const char *const known[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "huge_pages",
                                      "cpu_template", NULL};
  struct reply r;
  long cpus = a->cfg->ncpus, mem = (long)(a->cfg->memory / MiB);
  bool smt = false, dirty = patch && a->cfg->track_dirty;
  const char *huge = NULL;
  if (known_fields(b, known, &r) < 0 || int_field(b, "vcpu_count", !patch, 1, VMM_MAX_CPUS, &cpus, &r) < 0 ||
      int_field(b, "mem_size_mib", !patch, (long)(VMM_MIN_MEMORY / MiB), (long)(VMM_MAX_MEMORY / MiB), &mem,
                &r) < 0 ||
      bool_field(b, "smt", &smt, &r) < 0 || bool_field(b, "track_dirty_pages", &dirty, &r) < 0 ||
      str_field(b, "huge_pages", false, &huge, &r) < 0)
    return r;
  if (smt)
    return fault(400, "smt: simultaneous multithreading is not offered to guests");
  if (huge && strcmp(huge, "None") && strcmp(huge, "2M"))
    return fault(400, "huge_pages: `%s` is not None or 2M", huge);
  a->cfg->ncpus = (int)cpus;
  a->cfg->memory = (uint64_t)mem * MiB;
  if (huge)
    a->cfg->hugepages = !strcmp(huge, "2M");
  a->cfg->track_dirty = dirty;
  return NO_CONTENT;
}

static int disk_index(struct vm_config *c, const char *id)
{
  for (int i = 0; i < c->ndisks; i++)
    if (c->disks[i].id && !strcmp(c->disks[i].id, id))
      return i;
  return -1;
}

static struct reply put_drive(struct api *a, const char *id, json_t *b)
{
  static const char *const known[] = {"drive_id", "path_on_host", "is_root_device", "is_read_only",
                                      "partuuid", "cache_type", "io_engine", "rate_limiter", NULL};
  struct reply r;
  const char *did = NULL, *path = NULL, *engine = NULL;
  bool root = false, ro = false;
  if (known_fields(b, known, &r) < 0 || str_field(b, "drive_id", true, &did, &r) < 0 ||
      str_field(b, "path_on_host", true, &path, &r) < 0 || bool_field(b, "is_root_device", &root, &r) < 0 ||
      bool_field(b, "is_read_only", &ro, &r) < 0 || str_field(b, "io_engine", false, &engine, &r) < 0)
    return r;
  if (strcmp(did, id))
    return fault(400, "drive_id: `%s` differs from the path's `%s`", did, id);
  if (json_object_get(b, "rate_limiter"))
    return fault(400, "rate_limiter: rate limiting is not built yet");
  if (access(path, R_OK) < 0)
    return fault(400, "path_on_host: cannot read `%s`: %s", path, strerror(errno));
  const char *pc = own(a, path), *ic = own(a, id);
  if (!pc || !ic)
    return OUT_OF_MEMORY;
  struct vm_config *c = a->cfg;
  int slot = disk_index(c, id);
  if (slot < 0) {
    if (c->ndisks + c->nnets >= VM_MAX_VIRTIO)
      return fault(400, "drive_id: a VM has at most %d virtio devices", VM_MAX_VIRTIO);
    slot = c->ndisks++;
  }
  c->disks[slot] = (struct virtio_blk_config){.path = pc, .ro = ro, .id = ic,
                                              .sync_io = engine && !strcmp(engine, "Sync")};
  (void)root; /* the root device is the guest's business (root= on the command line) */
  return NO_CONTENT;
}

static struct reply put_net(struct api *a, const char *id, json_t *b)
{
  static const char *const known[] = {"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
                                      "tx_rate_limiter", NULL};
  struct reply r;
  const char *iid = NULL, *tap = NULL, *mac = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "iface_id", true, &iid, &r) < 0 ||
      str_field(b, "host_dev_name", true, &tap, &r) < 0 || str_field(b, "guest_mac", false, &mac, &r) < 0)
    return r;
  if (strcmp(iid, id))
    return fault(400, "iface_id: `%s` differs from the path's `%s`", iid, id);
  struct vm_net n = {0};
  if (mac) {
    if (devices_parse_mac(mac, n.mac) < 0)
      return fault(400, "guest_mac: `%s` is not a MAC address (XX:XX:XX:XX:XX:XX)", mac);
    n.has_mac = true;
  }
  struct vm_config *c = a->cfg;
  int slot = devices_find_net(c, id); /* PUT again: replaced, as a drive is */
  if (slot < 0 && c->ndisks + c->nnets >= VM_MAX_VIRTIO)
    return fault(400, "iface_id: a VM has at most %d virtio devices", VM_MAX_VIRTIO);
  n.tap = own(a, tap);
  n.id = own(a, id);
  if (!n.tap || !n.id)
    return OUT_OF_MEMORY;
  c->nets[slot < 0 ? c->nnets++ : slot] = n;
  return NO_CONTENT;
}

static struct reply put_vsock(struct api *a, json_t *b)
{
  static const char *const known[] = {"guest_cid", "uds_path", "vsock_id", NULL};
  struct reply r;
  long cid = 0;
  const char *uds = NULL;
  if (known_fields(b, known, &r) < 0 || int_field(b, "guest_cid", true, 3, 0x7fffffff, &cid, &r) < 0 ||
      str_field(b, "uds_path", true, &uds, &r) < 0)
    return r;
  const char *uc = own(a, uds);
  if (!uc)
    return OUT_OF_MEMORY;
  a->cfg->vsock = (struct virtio_vsock_config){.cid = (uint64_t)cid, .uds = uc};
  return NO_CONTENT;
}

/* ---- running ---- */

/* After boot Firecracker lets a drive take another image (and its rate
 * limiter change). */
static struct reply patch_drive_running(struct api *a, const char *id, json_t *b)
{
  static const char *const known[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
  struct reply r;
  const char *did = NULL, *path = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "drive_id", true, &did, &r) < 0 ||
      str_field(b, "path_on_host", false, &path, &r) < 0)
    return r;
  if (strcmp(did, id))
    return fault(400, "drive_id: `%s` differs from the path's `%s`", did, id);
  int i = disk_index(a->cfg, id);
  if (i < 0)
    return fault(400, "drive_id: the microVM has no drive `%s`", id);
  if (json_object_get(b, "rate_limiter"))
    return fault(400, "rate_limiter: rate limiting is not built yet");
  if (!path)
    return NO_CONTENT;
  const char *pc = own(a, path);
  if (!pc)
    return OUT_OF_MEMORY;
  err_t err = NULL;
  if (vm_replace_disk(a->vm, i, path, &err) < 0)
    return fault_err("path_on_host", &err);
  a->cfg->disks[i].path = pc;
  return NO_CONTENT;
}

static struct reply patch_net_running(struct api *a, const char *id, json_t *b)
{
  static const char *const known[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
  struct reply r;
  const char *iid = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "iface_id", true, &iid, &r) < 0)
    return r;
  if (strcmp(iid, id))
    return fault(400, "iface_id: `%s` differs from the path's `%s`", iid, id);
  if (devices_find_net(a->cfg, id) < 0)
    return fault(400, "iface_id: the microVM has no network interface `%s`", id);
  if (json_object_get(b, "rx_rate_limiter") || json_object_get(b, "tx_rate_limiter"))
    return fault(400, "%s: rate limiting is not built yet",
                 json_object_get(b, "rx_rate_limiter") ? "rx_rate_limiter" : "tx_rate_limiter");
  return NO_CONTENT;
}

static const char *state_name(struct api *a)
{
  if (!a->vm)
    return "Not started";
  return vm_is_paused(a->vm) ? "Paused" : "Running";
}

static struct reply patch_vm(struct api *a, json_t *b)
{
  static const char *const known[] = {"state", NULL};
  struct reply r;
  const char *st = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "state", true, &st, &r) < 0)
    return r;
  if (!a->vm)
    return fault(400, "the microVM is not started: send InstanceStart first");
  if (!strcmp(st, "Paused")) {
    err_t err = NULL;
    if (vm_pause(a->vm, &err) < 0)
      return fault_err("cannot pause", &err);
    return NO_CONTENT;
  }
  if (!strcmp(st, "Resumed")) {
    vm_resume(a->vm);
    return NO_CONTENT;
  }
  return fault(400, "state: `%s` is not Paused or Resumed", st);
}

static struct reply put_snapshot_create(struct api *a, json_t *b)
{
  static const char *const known[] = {"snapshot_type", "snapshot_path", "mem_file_path", "version", NULL};
  struct reply r;
  const char *type = NULL, *sp = NULL, *mp = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "snapshot_type", false, &type, &r) < 0 ||
      str_field(b, "snapshot_path", true, &sp, &r) < 0 || str_field(b, "mem_file_path", true, &mp, &r) < 0)
    return r;
  if (type && strcmp(type, "Full") && strcmp(type, "Diff"))
    return fault(400, "snapshot_type: `%s` is not Full or Diff", type);
  if (!a->vm)
    return fault(400, "the microVM is not started");
  err_t err = NULL;
  if (snapshot_create(a->vm, sp, mp, type && !strcmp(type, "Diff"), &err) < 0)
    return fault_err(NULL, &err);
  return NO_CONTENT;
}

static struct reply put_snapshot_load(struct api *a, json_t *b)
{
  static const char *const known[] = {"snapshot_path", "mem_file_path", "mem_backend", "resume_vm",
                                      "enable_diff_snapshots", "track_dirty_pages", "network_overrides", NULL};
  struct reply r;
  const char *sp = NULL, *mp = NULL;
  bool resume = false, diff = false, track = false;
  if (known_fields(b, known, &r) < 0 || str_field(b, "snapshot_path", true, &sp, &r) < 0 ||
      str_field(b, "mem_file_path", false, &mp, &r) < 0 || bool_field(b, "resume_vm", &resume, &r) < 0 ||
      bool_field(b, "enable_diff_snapshots", &diff, &r) < 0 || bool_field(b, "track_dirty_pages", &track, &r) < 0)
    return r;
  json_t *mb = json_object_get(b, "mem_backend");
  if (mb) {
    const char *type = NULL;
    if (str_field(mb, "backend_path", true, &mp, &r) < 0 || str_field(mb, "backend_type", true, &type, &r) < 0)
      return r;
    if (strcmp(type, "File"))
      return fault(400, "mem_backend.backend_type: only File is built (not `%s`)", type);
  }
  if (!mp)
    return fault(400, "mem_backend: missing field (or mem_file_path)");
  if (a->started)
    return fault(400, "a snapshot loads into a fresh isola-vmm, before InstanceStart");
  struct vm_config *c = a->cfg;
  if (c->kernel || c->ndisks || c->nnets || c->vsock.cid || c->rng || c->virtio_console)
    return fault(400, "a snapshot brings its own kernel and devices: load it into an isola-vmm with none "
                      "configured");
  struct vm_config next = *c; /* the config changes only when everything is right */
  _cleanup_json_ json_t *devices = NULL;
  err_t err = NULL;
  if (snapshot_read_config(sp, &next, &devices, &err) < 0)
    return fault_err("snapshot_path", &err);
  json_t *ov = json_object_get(b, "network_overrides"), *o;
  size_t i;
  if (ov && !json_is_array(ov))
    return fault(400, "network_overrides: must be a list of {iface_id, host_dev_name}");
  r = (struct reply){0};
  json_array_foreach(ov, i, o)
  {
    const char *id = NULL, *tap = NULL;
    if (json_unpack(o, "{s:s, s:s}", "iface_id", &id, "host_dev_name", &tap) < 0)
      r = fault(400, "network_overrides[%zu]: needs iface_id and host_dev_name (strings)", i);
    else if (!(tap = own(a, tap)))
      r = OUT_OF_MEMORY;
    else if (devices_override_tap(&next, id, tap, &err) < 0)
      r = fault(400, "network_overrides[%zu].iface_id: %s", i, err_msg(err));
    err_free(&err);
    if (r.status)
      return r;
  }
  if (access(mp, R_OK) < 0)
    return fault(400, "mem_backend.backend_path: cannot read `%s`: %s", mp, strerror(errno));
  const char *sc = own(a, sp), *mc = own(a, mp);
  if (!sc || !mc)
    return OUT_OF_MEMORY;
  next.restore_state = sc;
  next.restore_mem = mc;
  next.restore_paused = !resume;
  next.track_dirty = c->track_dirty || diff || track; /* Firecracker's old name and its new one */
  *c = next;
  json_decref(a->snap_devices);
  a->snap_devices = devices; /* the config points into it now */
  devices = NULL;
  return NO_CONTENT;
}

static struct reply put_actions(struct api *a, json_t *b)
{
  static const char *const known[] = {"action_type", NULL};
  struct reply r;
  const char *t = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "action_type", true, &t, &r) < 0)
    return r;
  if (!strcmp(t, "InstanceStart")) {
    if (a->started)
      return fault(400, "the microVM is started already");
    if (!a->cfg->kernel)
      return fault(400, "no kernel: PUT /boot-source with kernel_image_path first");
    return NO_CONTENT;
  }
  if (!strcmp(t, "SendCtrlAltDel")) {
    if (!a->vm)
      return fault(400, "the microVM is not started");
    i8042_ctrl_alt_del(&a->vm->i8042);
    return NO_CONTENT;
  }
  if (!strcmp(t, "FlushMetrics")) {
    err_t err = NULL;
    if (metrics_flush(a->vm, &err) < 0)
      return fault_err(NULL, &err);
    return NO_CONTENT;
  }
  return fault(400, "action_type: `%s` is not InstanceStart, SendCtrlAltDel or FlushMetrics", t);
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

static struct reply put_metrics(json_t *b)
{
  static const char *const known[] = {"metrics_path", NULL};
  struct reply r;
  const char *path = NULL;
  if (known_fields(b, known, &r) < 0 || str_field(b, "metrics_path", true, &path, &r) < 0)
    return r;
  err_t err = NULL;
  if (metrics_open(path, &err) < 0)
    return fault_err(NULL, &err);
  return NO_CONTENT;
}

/* ---- routing ---- */

static struct reply route(struct api *a, const char *method, const char *url, json_t *body)
{
  bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT"), patch = !strcmp(method, "PATCH");
  if (get && !strcmp(url, "/"))
    return ok_json(json_pack("{ss ss ss ss}", "id", "isola-vmm", "state", state_name(a), "vmm_version",
                             ISOLA_VERSION, "app_name", "isola-vmm"));
  if (get && !strcmp(url, "/version"))
    return ok_json(json_pack("{ss}", "firecracker_version", ISOLA_VERSION));
  if (get && !strcmp(url, "/machine-config"))
    return ok_json(machine_config_json(a->cfg));
  if (get && !strcmp(url, "/vm/config"))
    return ok_json(vm_config_json(a));
  if (patch && !strcmp(url, "/vm"))
    return patch_vm(a, body);
  if (put && !strcmp(url, "/actions"))
    return put_actions(a, body);
  if (put && !strcmp(url, "/snapshot/create"))
    return put_snapshot_create(a, body);
  if (put && !strcmp(url, "/logger"))
    return NO_CONTENT; /* isola-vmm logs to stderr; --log-level sets the level */
  if (patch && a->started && !strncmp(url, "/drives/", 8) && url[8])
    return patch_drive_running(a, url + 8, body);
  if (patch && a->started && !strncmp(url, "/network-interfaces/", 20) && url[20])
    return patch_net_running(a, url + 20, body);
  bool preboot_path = !strcmp(url, "/boot-source") || !strcmp(url, "/machine-config") ||
                      !strncmp(url, "/drives/", 8) || !strncmp(url, "/network-interfaces/", 20) ||
                      !strcmp(url, "/vsock") || !strcmp(url, "/entropy") || !strcmp(url, "/snapshot/load");
  if ((put || patch) && preboot_path && a->started)
    return fault(400, "%s %s: the microVM is started; this is configured before InstanceStart", method, url);
  if (put && !strcmp(url, "/snapshot/load"))
    return put_snapshot_load(a, body);
  if (put && !strcmp(url, "/boot-source"))
    return put_boot_source(a, body);
  if ((put || patch) && !strcmp(url, "/machine-config"))
    return put_machine_config(a, body, patch);
  if ((put || patch) && !strncmp(url, "/drives/", 8) && url[8])
    return put_drive(a, url + 8, body);
  if (put && !strncmp(url, "/network-interfaces/", 20) && url[20])
    return put_net(a, url + 20, body);
  if (patch && !strncmp(url, "/network-interfaces/", 20) && url[20])
    return fault(400, "PATCH %s: network interfaces are patched once the microVM runs", url);
  if (put && !strcmp(url, "/vsock"))
    return put_vsock(a, body);
  if (put && !strcmp(url, "/entropy")) {
    a->cfg->rng = true;
    return NO_CONTENT;
  }
  if (put && !strcmp(url, "/metrics"))
    return put_metrics(body);
  if (put && (!strcmp(url, "/balloon") || !strncmp(url, "/mmds", 5)))
    return fault(400, "%s is not built yet", url);
  return fault(400, "Invalid request method and/or path: %s %s", method, url);
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct reply r)
{
  METRIC_INC(api_requests);
  if (r.status >= 400)
    METRIC_INC(api_errors);
  struct MHD_Response *resp = MHD_create_response_from_buffer(r.body ? strlen(r.body) : 0, r.body ? r.body : "",
                                                              MHD_RESPMEM_MUST_COPY);
  if (r.body)
    MHD_add_response_header(resp, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response(conn, r.status, resp);
  MHD_destroy_response(resp);
  free(r.body);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
  struct api *a = cls;
  (void)version;
  struct request *rq = *con_cls;
  if (!rq) {
    rq = calloc(1, sizeof *rq);
    if (!rq)
      return MHD_NO;
    *con_cls = rq;
    return MHD_YES;
  }
  if (*upload_size) {
    if (rq->len + *upload_size > MAX_BODY) {
      rq->too_big = true;
    } else {
      char *nb = realloc(rq->body, rq->len + *upload_size + 1);
      if (!nb)
        return MHD_NO;
      rq->body = nb;
      memcpy(rq->body + rq->len, upload, *upload_size);
      rq->len += *upload_size;
      rq->body[rq->len] = 0;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (rq->too_big)
    return respond(conn, fault(400, "the request body is over %d bytes", MAX_BODY));
  json_t *body = NULL;
  bool wants_body = !strcmp(method, "PUT") || !strcmp(method, "PATCH");
  if (wants_body) {
    json_error_t je;
    body = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    if (!json_is_object(body)) {
      json_decref(body);
      return respond(conn, fault(400, "the body is not a JSON object: %s (line %d, column %d)",
                                 rq->body ? je.text : "empty body", je.line, je.column));
    }
  }
  pthread_mutex_lock(&a->lock);
  struct reply r = route(a, method, url, body);
  bool start = r.status == 204 && !a->started && !strcmp(url, "/actions") && body &&
               !strcmp(json_string_value(json_object_get(body, "action_type")) ?: "", "InstanceStart");
  start = start || (r.status == 204 && !strcmp(url, "/snapshot/load"));
  if (start) {
    a->start = true;
    a->started = true;
    pthread_cond_broadcast(&a->cond);
    /* InstanceStart answers once the VM is made (or has failed) */
    while (!a->vm && !a->start_error)
      pthread_cond_wait(&a->cond, &a->lock);
    if (!a->vm) {
      free(r.body);
      r = fault(400, "%s", a->start_error);
    }
  }
  pthread_mutex_unlock(&a->lock);
  json_decref(body);
  log_debug("API %s %s -> %u", method, url, r.status);
  return respond(conn, r);
}

/* The daemon's thread takes its filter at its first connection (libmicrohttpd
 * has no thread-start hook); before that it only waits in epoll. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
  (void)cls, (void)conn, (void)socket_context, (void)code;
  static __thread bool filtered;
  if (filtered)
    return;
  filtered = true;
  err_t err = NULL;
  if (sandbox_apply(SANDBOX_API, &err) < 0) {
    log_err(err);
    err_free(&err);
    abort(); /* an API thread that cannot be confined must not serve */
  }
  sandbox_selftest(SANDBOX_API);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
  (void)cls, (void)conn, (void)t;
  struct request *rq = *con_cls;
  if (rq) {
    free(rq->body);
    free(rq);
  }
  *con_cls = NULL;
}

void api_init(struct api *a, struct vm_config *cfg)
{
  memset(a, 0, sizeof *a);
  a->lfd = -1;
  a->cfg = cfg;
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
}

int api_serve(struct api *a, const char *path, bool already_configured, err_t *err)
{
  a->started = already_configured;
  /* bound under a temporary name and renamed once listening: a client
   * that sees PATH can connect */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char tmp[sizeof sa.sun_path];
  if (snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid()) >= (int)sizeof tmp)
    return err_make(err, ENAMETOOLONG, "--api-sock `%s` is longer than a socket path may be", path);
  strcpy(sa.sun_path, tmp);
  a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (a->lfd < 0)
    return err_sys(err, "cannot make the API socket");
  if (access(path, F_OK) == 0)
    return err_make(err, EEXIST, "--api-sock `%s` exists: another isola-vmm may serve it (remove a stale one)",
                    path);
  unlink(tmp);
  if (bind(a->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(a->lfd, 16) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return err_sys(err, "cannot listen on the API socket `%s`", path);
  }
  a->path = strdup(path);
  a->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, a,
                               MHD_OPTION_LISTEN_SOCKET, a->lfd, MHD_OPTION_NOTIFY_COMPLETED, completed, a, MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
  if (!a->daemon)
    return err_make(err, EIO, "libmicrohttpd cannot serve `%s`", path);
  return 0;
}

int api_wait_start(struct api *a, int timeout_ms)
{
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  t.tv_sec += timeout_ms / 1000;
  t.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&a->lock);
  int r = 0;
  while (!a->start && r == 0)
    r = pthread_cond_timedwait(&a->cond, &a->lock, &t);
  bool go = a->start;
  pthread_mutex_unlock(&a->lock);
  return go ? 1 : 0;
}

void api_set_vm(struct api *a, struct vm *vm, const char *error)
{
  pthread_mutex_lock(&a->lock);
  a->vm = vm;
  if (!vm && !a->start_error)
    a->start_error = strdup(error ? error : "the microVM stopped");
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

int api_apply_config_file(struct api *a, const char *path, err_t *err)
{
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return err_make(err, EINVAL, "--config-file `%s`: %s (line %d, column %d)", path,
                    j ? "not a JSON object" : je.text, je.line, je.column);
  }
  static const char *const sections[] = {"boot-source", "machine-config", "drives", "network-interfaces",
                                         "vsock", "entropy", "logger", "metrics", "balloon", "mmds-config",
                                         "cpu-config", NULL};
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(j, k, v)
  {
    bool known = false;
    for (const char *const *s = sections; *s && !known; s++)
      known = !strcmp(*s, k);
    if (!known) {
      rc = err_make(err, EINVAL, "--config-file `%s`: unknown section `%s`", path, k);
      break;
    }
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
      json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
      char url[160];
      const char *id = json_string_value(json_object_get(item, !strcmp(k, "drives") ? "drive_id" : "iface_id"));
      if (json_is_array(v))
        snprintf(url, sizeof url, "/%s/%s", k, id ? id : "");
      else
        snprintf(url, sizeof url, "/%s", k);
      struct reply r = json_is_object(item) ? route(a, "PUT", url, item) : fault(400, "not a JSON object");
      if (r.status >= 300) {
        json_t *m = json_loads(r.body, 0, NULL);
        rc = err_make(err, EINVAL, "--config-file `%s`: %s%s%zu: %s", path, k, json_is_array(v) ? "[" : "",
                      json_is_array(v) ? i : 0, json_string_value(json_object_get(m, "fault_message")));
        json_decref(m);
      }
      free(r.body);
    }
    if (rc)
      break;
  }
  json_decref(j);
  return rc;
}

void api_stop(struct api *a)
{
  if (a->daemon)
    MHD_stop_daemon(a->daemon);
  a->daemon = NULL;
  if (a->lfd >= 0)
    close(a->lfd);
  a->lfd = -1;
  if (a->path)
    unlink(a->path);
  free(a->path);
  a->path = NULL;
  free(a->start_error);
  a->start_error = NULL;
  json_decref(a->snap_devices);
  a->snap_devices = NULL;
  for (int i = 0; i < a->nowned; i++)
    free(a->owned[i]);
  free(a->owned);
  a->owned = NULL;
  a->nowned = 0;
  pthread_mutex_destroy(&a->lock);
  pthread_cond_destroy(&a->cond);
}

/* Drives: PUT /drives/{id} before boot, PATCH after it (another image
 * behind the disk). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api/internal.h"

static int disk_index(struct vm_config *c, const char *id)
{
  for (int i = 0; i < c->ndisks; i++)
    if (c->disks[i].id && !strcmp(c->disks[i].id, id))
      return i;
  return -1;
}

struct reply api_put_drive(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  const char *id = rq->id;
  static const char *const known[] = {"drive_id", "path_on_host", "is_root_device", "is_read_only",
                                      "partuuid", "cache_type", "io_engine", "rate_limiter", NULL};
  struct reply r;
  const char *did = NULL, *path = NULL, *engine = NULL;
  bool root = false, ro = false;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "drive_id", true, &did, &r) < 0 ||
      api_str_field(b, "path_on_host", true, &path, &r) < 0 || api_bool_field(b, "is_root_device", &root, &r) < 0 ||
      api_bool_field(b, "is_read_only", &ro, &r) < 0 || api_str_field(b, "io_engine", false, &engine, &r) < 0)
    return r;
  if (strcmp(did, id))
    return api_fault(400, "drive_id: `%s` differs from the path's `%s`", did, id);
  struct ratelimit_config limit = {0};
  if (api_limit_field(b, "rate_limiter", &limit, &r) < 0)
    return r;
  if (access(path, R_OK) < 0)
    return api_fault(400, "path_on_host: cannot read `%s`: %s", path, strerror(errno));
  const char *pc = api_own(a, path), *ic = api_own(a, id);
  if (!pc || !ic)
    return API_OUT_OF_MEMORY;
  struct vm_config *c = a->cfg;
  int slot = disk_index(c, id);
  if (slot < 0) {
    if (c->ndisks + c->nnets >= VM_MAX_VIRTIO)
      return api_fault(400, "drive_id: a VM has at most %d virtio devices", VM_MAX_VIRTIO);
    slot = c->ndisks++;
  }
  c->disks[slot] = (struct virtio_blk_config){.path = pc, .ro = ro, .id = ic,
                                              .sync_io = engine && !strcmp(engine, "Sync"),
                                              .rate_limiter = limit};
  (void)root; /* the root device is the guest's business (root= on the command line) */
  return API_NO_CONTENT;
}

/* After boot Firecracker lets a drive take another image (and its rate
 * limiter change). */
struct reply api_patch_drive(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  const char *id = rq->id;
  static const char *const known[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
  struct reply r;
  const char *did = NULL, *path = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_str_field(b, "drive_id", true, &did, &r) < 0 ||
      api_str_field(b, "path_on_host", false, &path, &r) < 0)
    return r;
  if (strcmp(did, id))
    return api_fault(400, "drive_id: `%s` differs from the path's `%s`", did, id);
  int i = disk_index(a->cfg, id);
  if (i < 0)
    return api_fault(400, "drive_id: the microVM has no drive `%s`", id);
  struct virtio_blk_config *d = &a->cfg->disks[i];
  struct ratelimit_config limit = d->rate_limiter;
  if (api_limit_field(b, "rate_limiter", &limit, &r) < 0)
    return r;
  /* started, but the VM is still being made, or could not be */
  if (!a->vm)
    return api_fault(400, "the microVM is not running");
  err_t err = NULL;
  if (json_object_get(b, "rate_limiter")) {
    struct virtio_blk *disk = &a->vm->disks[i];
    if (vm_set_rate_limit(a->vm, &disk->rl, virtio_blk_on_timer, disk, &limit, &err) < 0)
      return api_fault_err("rate_limiter", &err);
    d->rate_limiter = limit;
  }
  if (!path)
    return API_NO_CONTENT;
  const char *pc = api_own(a, path);
  if (!pc)
    return API_OUT_OF_MEMORY;
  if (vm_replace_disk(a->vm, i, path, &err) < 0)
    return api_fault_err("path_on_host", &err);
  d->path = pc;
  return API_NO_CONTENT;
}

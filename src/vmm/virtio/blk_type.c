/* virtio-blk as a VMM device type: the config's "drives", one slot per
 * disk in --disk order, the block_vdX metrics. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/registry.h"
#include "vmm/vm.h"

static int count(const struct vm_config *c)
{
  return c->ndisks;
}

static int add_disk(struct vm *vm, const struct virtio_blk_config *cfg, err_t *err)
{
  struct virtio_blk *b = &vm->disks[vm->ndisks];
  if (virtio_blk_open(b, cfg, err) < 0) {
    virtio_blk_close(b);
    return -1;
  }
  vm->ndisks++;
  if (vm_add_slot(vm, virtio_blk_ops(b), b, &b->m, err) < 0)
    return -1;
  int efd = virtio_blk_event_fd(b);
  if (efd >= 0 && evloop_add(&vm->loop, efd, EPOLLIN, virtio_blk_on_event, b, err) < 0)
    return -1;
  if (vm_watch_timer(vm, &b->rl, virtio_blk_on_timer, b, err) < 0)
    return -1;
  return evloop_on_quiesce(&vm->loop, virtio_blk_quiesce, b, err);
}

static int attach(struct vm *vm, const struct vm_config *c, err_t *err)
{
  for (int i = 0; i < c->ndisks; i++)
    if (add_disk(vm, &c->disks[i], err) < 0)
      return -1;
  return 0;
}

static void release(struct vm *vm)
{
  for (int i = 0; i < vm->ndisks; i++)
    virtio_blk_close(&vm->disks[i]);
  vm->ndisks = 0;
}

static int to_json(const struct vm_config *c, json_t *j)
{
  json_t *drives = json_array();
  int r = json_object_set_new(j, "drives", drives);
  for (int i = 0; i < c->ndisks; i++) {
    const struct virtio_blk_config *d = &c->disks[i];
    json_t *dj = json_pack("{ss ss sb sb ss}", "drive_id", d->id ? d->id : "", "path_on_host", d->path,
                           "is_root_device", 0, "is_read_only", d->ro, "io_engine", d->sync_io ? "Sync" : "Async");
    r |= vmm_json_set_limit(dj, "rate_limiter", &d->rate_limiter);
    r |= json_array_append_new(drives, dj);
  }
  return r ? -1 : 0;
}

static int from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  json_t *drives = json_object_get(j, "drives");
  c->ndisks = 0;
  if (json_array_size(drives) > VM_MAX_VIRTIO)
    return err_make(err, EINVAL, "%s: more than %d virtio devices", where, VM_MAX_VIRTIO);
  size_t i;
  json_t *v;
  json_array_foreach(drives, i, v)
  {
    const char *id = NULL, *path = NULL, *engine = "Async";
    int ro = 0;
    if (json_unpack(v, "{s:s, s:s, s?b, s?s}", "drive_id", &id, "path_on_host", &path, "is_read_only", &ro,
                    "io_engine", &engine) < 0)
      return err_make(err, EINVAL, "%s: drives[%zu] is malformed (drive_id, path_on_host)", where, i);
    struct virtio_blk_config *d = &c->disks[c->ndisks++];
    *d = (struct virtio_blk_config){.path = path, .ro = ro, .id = *id ? id : NULL,
                                    .sync_io = !strcmp(engine, "Sync")};
    if (vmm_json_get_limit(v, "rate_limiter", where, "drives", i, &d->rate_limiter, err) < 0)
      return -1;
  }
  return 0;
}

#define LOAD(x) ((json_int_t)__atomic_load_n(&(x), __ATOMIC_RELAXED))

static void metrics(struct vm *vm, json_t *j)
{
  for (int i = 0; i < vm->ndisks; i++) {
    struct virtio_blk *b = &vm->disks[i];
    char g[48];
    snprintf(g, sizeof g, "block_vd%c", 'a' + i);
    json_object_set_new(j, g, json_pack("{sI sI sI sI sI}", "read_count", LOAD(b->reads), "write_count",
                                        LOAD(b->writes), "flush_count", LOAD(b->flushes), "io_errors",
                                        LOAD(b->errors), "rate_limiter_throttled_events", LOAD(b->rl.throttled)));
  }
}

int vm_replace_disk(struct vm *vm, int index, const char *path, err_t *err)
{
  if (index < 0 || index >= vm->ndisks)
    return err_make(err, ENOENT, "the VM has no disk %d", index);
  evloop_pause(&vm->loop);
  int r = virtio_blk_replace(&vm->disks[index], path, err);
  evloop_resume(&vm->loop);
  return r;
}

const struct vmm_device_type virtio_blk_type = {
    .name = "virtio-blk",
    .kind = VMM_DEVICE_VIRTIO,
    .section = "drives",
    .id_field = "drive_id",
    .count = count,
    .attach = attach,
    .release = release,
    .to_json = to_json,
    .from_json = from_json,
    .metrics = metrics,
};

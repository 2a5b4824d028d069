/* cgroup v1 resource files (kernel Documentation/admin-guide/cgroup-v1). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "runtime/cgroup/apply.h"
#include "runtime/cgroup/devices.h"

static int put_i64(const char *dir, const char *file, int64_t v, err_t *err)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%" PRId64, v);
  return cgroup_write(dir, file, buf, err);
}

static int need(const struct cgroup *cg, const char *controller, const char **dir, err_t *err)
{
  *dir = cgroup_v1_dir(cg, controller);
  if (!*dir)
    return err_make(err, ENOTSUP, "linux.resources asks for the `%s` controller, which is not "
                    "mounted on this host", controller);
  return 0;
}

static int memory(const struct cgroup *cg, const struct spec_resources *r, err_t *err)
{
  const char *d;
  if (r->memory.limit == SPEC_UNSET && r->memory.swap == SPEC_UNSET &&
      r->memory.reservation == SPEC_UNSET && r->memory.swappiness == SPEC_UNSET &&
      !r->memory.disable_oom_killer)
    return 0;
  if (need(cg, "memory", &d, err) < 0)
    return -1;
  if (r->memory.limit != SPEC_UNSET) {
    /* memsw must stay >= limit: when lowering both, the limit goes first;
     * when raising, memsw does.  Try one order, then the other. */
    err_t first = NULL;
    if (put_i64(d, "memory.limit_in_bytes", r->memory.limit, &first) < 0) {
      if (r->memory.swap == SPEC_UNSET) {
        err_move(err, &first);
        return err_context(err, "cannot set the memory limit");
      }
      err_free(&first);
      if (put_i64(d, "memory.memsw.limit_in_bytes", r->memory.swap, err) < 0 ||
          put_i64(d, "memory.limit_in_bytes", r->memory.limit, err) < 0)
        return -1;
    } else if (r->memory.swap != SPEC_UNSET &&
               put_i64(d, "memory.memsw.limit_in_bytes", r->memory.swap, err) < 0) {
      return err_context(err, "cannot set memory+swap (is swap accounting enabled?)");
    }
  } else if (r->memory.swap != SPEC_UNSET &&
             put_i64(d, "memory.memsw.limit_in_bytes", r->memory.swap, err) < 0) {
    return -1;
  }
  if (r->memory.reservation != SPEC_UNSET &&
      put_i64(d, "memory.soft_limit_in_bytes", r->memory.reservation, err) < 0)
    return -1;
  if (r->memory.swappiness != SPEC_UNSET &&
      put_i64(d, "memory.swappiness", r->memory.swappiness, err) < 0)
    return -1;
  if (r->memory.disable_oom_killer && cgroup_write(d, "memory.oom_control", "1", err) < 0)
    return -1;
  return 0;
}

static int cpu(const struct cgroup *cg, const struct spec_resources *r, err_t *err)
{
  const char *d;
  if (r->cpu.shares != SPEC_UNSET || r->cpu.quota != SPEC_UNSET || r->cpu.period != SPEC_UNSET ||
      r->cpu.realtime_period != SPEC_UNSET || r->cpu.realtime_runtime != SPEC_UNSET) {
    if (need(cg, "cpu", &d, err) < 0)
      return -1;
    if (r->cpu.shares != SPEC_UNSET && put_i64(d, "cpu.shares", r->cpu.shares, err) < 0)
      return -1;
    if (r->cpu.period != SPEC_UNSET && put_i64(d, "cpu.cfs_period_us", r->cpu.period, err) < 0)
      return -1;
    if (r->cpu.quota != SPEC_UNSET && put_i64(d, "cpu.cfs_quota_us", r->cpu.quota, err) < 0)
      return -1;
    if (r->cpu.realtime_period != SPEC_UNSET &&
        put_i64(d, "cpu.rt_period_us", r->cpu.realtime_period, err) < 0)
      return -1;
    if (r->cpu.realtime_runtime != SPEC_UNSET &&
        put_i64(d, "cpu.rt_runtime_us", r->cpu.realtime_runtime, err) < 0)
      return -1;
  }
  if (r->cpu.cpus || r->cpu.mems) {
    if (need(cg, "cpuset", &d, err) < 0)
      return -1;
    if (r->cpu.cpus && *r->cpu.cpus && cgroup_write(d, "cpuset.cpus", r->cpu.cpus, err) < 0)
      return -1;
    if (r->cpu.mems && *r->cpu.mems && cgroup_write(d, "cpuset.mems", r->cpu.mems, err) < 0)
      return -1;
  }
  return 0;
}

static int pids(const struct cgroup *cg, const struct spec_resources *r, err_t *err)
{
  const char *d;
  if (r->pids_limit == SPEC_UNSET)
    return 0;
  if (need(cg, "pids", &d, err) < 0)
    return -1;
  if (r->pids_limit <= 0)
    return cgroup_write(d, "pids.max", "max", err);
  return put_i64(d, "pids.max", r->pids_limit, err);
}

static void dev_rule(char *buf, size_t len, const struct spec_device_rule *r)
{
  char major[24] = "*", minor[24] = "*";
  if (r->major >= 0)
    snprintf(major, sizeof(major), "%" PRId64, r->major);
  if (r->minor >= 0)
    snprintf(minor, sizeof(minor), "%" PRId64, r->minor);
  if (r->type == 'a')
    snprintf(buf, len, "a");
  else
    snprintf(buf, len, "%c %s:%s %s", r->type, major, minor, r->access);
}

static int devices(const struct cgroup *cg, const struct spec_resources *r, bool update, err_t *err)
{
  const char *d = cgroup_v1_dir(cg, "devices");
  if (!d || (update && !r->n_devices))
    return 0;
  if (cgroup_write(d, "devices.deny", "a", err) < 0)
    return -1;
  _cleanup_free_ struct spec_device_rule *rules = NULL;
  size_t n;
  if (devices_effective(r, &rules, &n, err) < 0)
    return -1;
  char buf[64];
  for (size_t i = 0; i < n; i++) {
    dev_rule(buf, sizeof(buf), &rules[i]);
    if (cgroup_write(d, rules[i].allow ? "devices.allow" : "devices.deny", buf, err) < 0)
      return i < r->n_devices ? err_context(err, "linux.resources.devices[%zu]", i) : -1;
  }
  return 0;
}

static int blkio(const struct cgroup *cg, const struct spec_resources *r, err_t *err)
{
  static const char *const files[4] = {"blkio.throttle.read_bps_device",
                                       "blkio.throttle.write_bps_device",
                                       "blkio.throttle.read_iops_device",
                                       "blkio.throttle.write_iops_device"};
  bool any = r->blkio.weight != SPEC_UNSET || r->blkio.leaf_weight != SPEC_UNSET ||
             r->blkio.n_weight_devices;
  for (int k = 0; k < 4; k++)
    any |= r->blkio.n_throttle[k] > 0;
  if (!any)
    return 0;
  const char *d;
  if (need(cg, "blkio", &d, err) < 0)
    return -1;
  if (r->blkio.weight != SPEC_UNSET && put_i64(d, "blkio.weight", r->blkio.weight, err) < 0)
    return -1;
  if (r->blkio.leaf_weight != SPEC_UNSET &&
      put_i64(d, "blkio.leaf_weight", r->blkio.leaf_weight, err) < 0)
    return -1;
  char buf[64];
  for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
    const struct spec_weight_device *w = &r->blkio.weight_devices[i];
    if (w->weight > 0) {
      snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %d", w->major, w->minor, w->weight);
      if (cgroup_write(d, "blkio.weight_device", buf, err) < 0)
        return -1;
    }
  }
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
      const struct spec_throttle_device *t = &r->blkio.throttle[k][i];
      snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, t->major, t->minor, t->rate);
      if (cgroup_write(d, files[k], buf, err) < 0)
        return -1;
    }
  return 0;
}

static int hugetlb(const struct cgroup *cg, const struct spec_resources *r, err_t *err)
{
  const char *d = cgroup_v1_dir(cg, "hugetlb");
  if (!r->n_hugepages || !d)
    return 0; /* without a v1 hugetlb, cgroup_apply uses the unified one */
  for (size_t i = 0; i < r->n_hugepages; i++) {
    char file[64];
    snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", r->hugepages[i].page_size);
    if (put_i64(d, file, (int64_t)r->hugepages[i].limit, err) < 0)
      return -1;
  }
  return 0;
}

int cgroup_v1_apply(const struct cgroup *cg, const struct spec_resources *r, bool update, err_t *err)
{
  if (memory(cg, r, err) < 0 || cpu(cg, r, err) < 0 || pids(cg, r, err) < 0 ||
      devices(cg, r, update, err) < 0 || blkio(cg, r, err) < 0 || hugetlb(cg, r, err) < 0)
    return -1;
  const char *d = cgroup_v1_dir(cg, "net_cls");
  if (r->net_class_id != SPEC_UNSET && d && put_i64(d, "net_cls.classid", r->net_class_id, err) < 0)
    return -1;
  if (r->unified && json_object_size(r->unified))
    return err_make(err, ENOTSUP, "linux.resources.unified needs cgroup v2; this host uses v1");
  return 0;
}

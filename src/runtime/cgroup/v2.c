/* cgroup v2 resource files (kernel Documentation/admin-guide/cgroup-v2.rst).
 * Writes go to files that must already exist, so that the same code can be
 * pointed at a scratch tree laid out like cgroupfs in the unit tests. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "runtime/cgroup/apply.h"

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
  /* The mapping runc and crun use: [2, 262144] -> [1, 10000]. */
  if (shares == 0)
    return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_to_io_weight(uint64_t weight)
{
  /* [10, 1000] -> [1, 10000] */
  if (weight == 0)
    return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

static int put(const char *dir, const char *file, int64_t v, err_t *err)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%" PRId64, v);
  return cgroup_write(dir, file, buf, err);
}

static int limit_or_max(const char *dir, const char *file, int64_t v, err_t *err)
{
  if (v < 0)
    return cgroup_write(dir, file, "max", err);
  return put(dir, file, v, err);
}

int cgroup_v2_apply(const char *d, const struct spec_resources *r, err_t *err)
{
  if (r->memory.limit != SPEC_UNSET && limit_or_max(d, "memory.max", r->memory.limit, err) < 0)
    return -1;
  if (r->memory.reservation != SPEC_UNSET &&
      limit_or_max(d, "memory.low", r->memory.reservation, err) < 0)
    return -1;
  if (r->memory.swap != SPEC_UNSET) {
    /* v1's swap is memory+swap; v2's memory.swap.max is swap alone. */
    int64_t swap = r->memory.swap;
    if (swap > 0 && r->memory.limit > 0)
      swap -= r->memory.limit;
    if (limit_or_max(d, "memory.swap.max", swap, err) < 0)
      return -1;
  }
  if (r->memory.disable_oom_killer)
    return err_make(err, ENOTSUP, "linux.resources.memory.disableOOMKiller is not available on "
                    "cgroup v2");
  if (r->pids_limit != SPEC_UNSET &&
      limit_or_max(d, "pids.max", r->pids_limit <= 0 ? -1 : r->pids_limit, err) < 0)
    return -1;
  if (r->cpu.shares != SPEC_UNSET &&
      put(d, "cpu.weight", (int64_t)cgroup_shares_to_weight((uint64_t)r->cpu.shares), err) < 0)
    return -1;
  if (r->cpu.quota != SPEC_UNSET || r->cpu.period != SPEC_UNSET) {
    char buf[64];
    int64_t period = r->cpu.period != SPEC_UNSET ? r->cpu.period : 100000;
    if (r->cpu.quota == SPEC_UNSET || r->cpu.quota < 0)
      snprintf(buf, sizeof(buf), "max %" PRId64, period);
    else
      snprintf(buf, sizeof(buf), "%" PRId64 " %" PRId64, r->cpu.quota, period);
    if (cgroup_write(d, "cpu.max", buf, err) < 0)
      return -1;
  }
  if (r->cpu.burst != SPEC_UNSET && put(d, "cpu.max.burst", r->cpu.burst, err) < 0)
    return -1;
  if (r->cpu.idle != SPEC_UNSET && put(d, "cpu.idle", r->cpu.idle, err) < 0)
    return -1;
  if (r->cpu.cpus && *r->cpu.cpus && cgroup_write(d, "cpuset.cpus", r->cpu.cpus, err) < 0)
    return -1;
  if (r->cpu.mems && *r->cpu.mems && cgroup_write(d, "cpuset.mems", r->cpu.mems, err) < 0)
    return -1;
  if (r->blkio.weight != SPEC_UNSET) {
    char buf[64];
    snprintf(buf, sizeof(buf), "default %" PRIu64,
             cgroup_blkio_to_io_weight((uint64_t)r->blkio.weight));
    if (cgroup_write(d, "io.weight", buf, err) < 0)
      return -1;
  }
  static const char *const keys[4] = {"rbps", "wbps", "riops", "wiops"};
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
      const struct spec_throttle_device *t = &r->blkio.throttle[k][i];
      char buf[96];
      snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t->major, t->minor, keys[k],
               t->rate);
      if (cgroup_write(d, "io.max", buf, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < r->n_hugepages; i++) {
    char file[64];
    snprintf(file, sizeof(file), "hugetlb.%s.max", r->hugepages[i].page_size);
    if (put(d, file, (int64_t)r->hugepages[i].limit, err) < 0)
      return -1;
  }
  if (r->unified) {
    const char *k;
    json_t *v;
    json_object_foreach(r->unified, k, v)
    {
      if (cgroup_write(d, k, json_string_value(v), err) < 0)
        return err_context(err, "linux.resources.unified.%s", k);
    }
  }
  return 0;
}

/* Usage figures for `events --stats` and OOM reporting, in runc's shape
 * ({"cpu":{"usage":{...}},"memory":{...},"pids":{...}}). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "sys/cgroup/cgroup.h"

static json_int_t read_num(const char *dir, const char *file)
{
  char buf[64];
  if (!dir || cgroup_read(dir, file, buf, sizeof(buf), NULL) <= 0)
    return 0;
  if (!strncmp(buf, "max", 3))
    return -1;
  return (json_int_t)strtoull(buf, NULL, 10);
}

/* "key value" lines (memory.stat, memory.events, cpu.stat). */
static json_int_t read_key(const char *dir, const char *file, const char *key)
{
  char buf[8192];
  if (!dir || cgroup_read(dir, file, buf, sizeof(buf), NULL) <= 0)
    return 0;
  size_t n = strlen(key);
  for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, key, n) && l[n] == ' ')
      return (json_int_t)strtoull(l + n + 1, NULL, 10);
  return 0;
}

long cgroup_oom_kills(const struct cgroup *cg)
{
  if (cg->none)
    return 0;
  if (cg->mode == CGROUP_V2)
    return (long)read_key(cg->unified_dir, "memory.events", "oom_kill");
  return (long)read_key(cgroup_v1_dir(cg, "memory"), "memory.oom_control", "oom_kill");
}

int cgroup_stats(const struct cgroup *cg, json_t **out, err_t *err)
{
  json_t *cpu, *mem, *pids;
  if (cg->mode == CGROUP_V2) {
    const char *d = cg->unified_dir;
    cpu = json_pack("{s:{s:I,s:I,s:I}}", "usage", "total", read_key(d, "cpu.stat", "usage_usec") * 1000,
                    "user", read_key(d, "cpu.stat", "user_usec") * 1000, "kernel",
                    read_key(d, "cpu.stat", "system_usec") * 1000);
    mem = json_pack("{s:{s:I,s:I},s:I}", "usage", "usage", read_num(d, "memory.current"), "limit",
                    read_num(d, "memory.max"), "oom_kills", read_key(d, "memory.events", "oom_kill"));
    pids = json_pack("{s:I,s:I}", "current", read_num(d, "pids.current"), "limit",
                     read_num(d, "pids.max"));
  } else {
    const char *c = cgroup_v1_dir(cg, "cpuacct"), *m = cgroup_v1_dir(cg, "memory"),
               *p = cgroup_v1_dir(cg, "pids");
    cpu = json_pack("{s:{s:I,s:I,s:I}}", "usage", "total", read_num(c, "cpuacct.usage"), "user",
                    read_num(c, "cpuacct.usage_user"), "kernel", read_num(c, "cpuacct.usage_sys"));
    mem = json_pack("{s:{s:I,s:I,s:I,s:I},s:I}", "usage", "usage",
                    read_num(m, "memory.usage_in_bytes"), "max", read_num(m, "memory.max_usage_in_bytes"),
                    "limit", read_num(m, "memory.limit_in_bytes"), "failcnt",
                    read_num(m, "memory.failcnt"), "oom_kills", read_key(m, "memory.oom_control", "oom_kill"));
    pids = json_pack("{s:I,s:I}", "current", read_num(p, "pids.current"), "limit",
                     read_num(p, "pids.max"));
  }
  *out = json_pack("{s:o,s:o,s:o}", "cpu", cpu, "memory", mem, "pids", pids);
  if (!*out)
    return err_make(err, ENOMEM, "cannot build cgroup statistics");
  return 0;
}

/* config-linux.md "Control groups": linux.resources, also the document that
 * `update --resources` reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "runtime/spec/internal.h"

void spec_resources_init(struct spec_resources *r)
{
  memset(r, 0, sizeof(*r));
  int64_t *mem[] = {&r->memory.limit, &r->memory.reservation, &r->memory.swap,
                    &r->memory.kernel, &r->memory.kernel_tcp, &r->memory.swappiness};
  for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++)
    *mem[i] = SPEC_UNSET;
  int64_t *cpu[] = {&r->cpu.shares, &r->cpu.quota, &r->cpu.burst, &r->cpu.period,
                    &r->cpu.realtime_runtime, &r->cpu.realtime_period, &r->cpu.idle};
  for (size_t i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++)
    *cpu[i] = SPEC_UNSET;
  r->pids_limit = SPEC_UNSET;
  r->blkio.weight = r->blkio.leaf_weight = SPEC_UNSET;
  r->net_class_id = SPEC_UNSET;
}

const char *spec_resources_first_limit(const struct spec_resources *r)
{
  if (r->memory.limit != SPEC_UNSET || r->memory.reservation != SPEC_UNSET ||
      r->memory.swap != SPEC_UNSET || r->memory.swappiness != SPEC_UNSET ||
      r->memory.disable_oom_killer)
    return "memory";
  if (r->cpu.shares != SPEC_UNSET || r->cpu.quota != SPEC_UNSET || r->cpu.period != SPEC_UNSET ||
      r->cpu.burst != SPEC_UNSET || r->cpu.idle != SPEC_UNSET ||
      (r->cpu.cpus && *r->cpu.cpus) || (r->cpu.mems && *r->cpu.mems))
    return "cpu";
  if (r->pids_limit != SPEC_UNSET)
    return "pids";
  if (r->blkio.weight != SPEC_UNSET || r->blkio.n_weight_devices || r->blkio.n_throttle[0] ||
      r->blkio.n_throttle[1] || r->blkio.n_throttle[2] || r->blkio.n_throttle[3])
    return "blockIO";
  if (r->n_hugepages)
    return "hugepageLimits";
  if (r->unified && json_object_size(r->unified))
    return "unified";
  return NULL;
}

static int get_num(const json_t *o, const char *path, const char *key, int64_t *out, err_t *err)
{
  /* An explicit null means "not set", as Go encoders write it. */
  if (json_is_null(json_object_get(o, key)))
    return 0;
  return json_get_int(o, path, key, false, INT64_MIN + 1, INT64_MAX, out, err);
}

static int parse_memory(const json_t *o, const char *p, struct spec_resources *r, err_t *err)
{
  static const char *const known[] = {"limit", "reservation", "swap", "kernel", "kernelTCP",
                                      "swappiness", "disableOOMKiller", "useHierarchy",
                                      "checkBeforeUpdate", NULL};
  if (sp_unknown(o, p, known, err) < 0 || get_num(o, p, "limit", &r->memory.limit, err) < 0 ||
      get_num(o, p, "reservation", &r->memory.reservation, err) < 0 ||
      get_num(o, p, "swap", &r->memory.swap, err) < 0 ||
      get_num(o, p, "kernel", &r->memory.kernel, err) < 0 ||
      get_num(o, p, "kernelTCP", &r->memory.kernel_tcp, err) < 0 ||
      json_get_bool(o, p, "disableOOMKiller", false, &r->memory.disable_oom_killer, err) < 0 ||
      json_get_bool(o, p, "useHierarchy", false, &r->memory.use_hierarchy, err) < 0 ||
      json_get_bool(o, p, "checkBeforeUpdate", false, &r->memory.check_before_update, err) < 0)
    return -1;
  if (!json_is_null(json_object_get(o, "swappiness")) &&
      json_get_int(o, p, "swappiness", false, 0, 100, &r->memory.swappiness, err) < 0)
    return -1;
  if (r->memory.limit != SPEC_UNSET && r->memory.limit < -1)
    return err_make(err, EINVAL, "%s.limit: %lld is not a size in bytes (or -1 for no limit)", p,
                    (long long)r->memory.limit);
  if (r->memory.limit > 0 && r->memory.swap > 0 && r->memory.swap < r->memory.limit)
    return err_make(err, EINVAL,
                    "%s.swap: %lld is below limit %lld (swap counts memory plus swap)", p,
                    (long long)r->memory.swap, (long long)r->memory.limit);
  return 0;
}

static int parse_cpu(const json_t *o, const char *p, struct spec_resources *r, err_t *err)
{
  static const char *const known[] = {"shares", "quota", "burst", "period", "realtimeRuntime",
                                      "realtimePeriod", "cpus", "mems", "idle", NULL};
  if (sp_unknown(o, p, known, err) < 0 || get_num(o, p, "shares", &r->cpu.shares, err) < 0 ||
      get_num(o, p, "quota", &r->cpu.quota, err) < 0 ||
      get_num(o, p, "burst", &r->cpu.burst, err) < 0 ||
      get_num(o, p, "period", &r->cpu.period, err) < 0 ||
      get_num(o, p, "realtimeRuntime", &r->cpu.realtime_runtime, err) < 0 ||
      get_num(o, p, "realtimePeriod", &r->cpu.realtime_period, err) < 0 ||
      get_num(o, p, "idle", &r->cpu.idle, err) < 0 ||
      json_get_string(o, p, "cpus", false, &r->cpu.cpus, err) < 0 ||
      json_get_string(o, p, "mems", false, &r->cpu.mems, err) < 0)
    return -1;
  if (r->cpu.cpus && r->cpu.cpus[strspn(r->cpu.cpus, "0123456789,-")])
    return err_make(err, EINVAL, "%s.cpus: `%s` is not a CPU list such as `0-2,5`", p, r->cpu.cpus);
  if (r->cpu.mems && r->cpu.mems[strspn(r->cpu.mems, "0123456789,-")])
    return err_make(err, EINVAL, "%s.mems: `%s` is not a node list such as `0-1`", p, r->cpu.mems);
  return 0;
}

static int parse_device_rules(const json_t *arr, const char *p, struct spec_resources *r,
                              err_t *err)
{
  r->n_devices = json_array_size(arr);
  r->devices = calloc(r->n_devices + 1, sizeof(*r->devices));
  if (!r->devices)
    return err_sys(err, "%s", p);
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d)
  {
    _cleanup_free_ char *dp = sp_idx(p, i);
    struct spec_device_rule *rule = &r->devices[i];
    static const char *const known[] = {"allow", "type", "major", "minor", "access", NULL};
    const char *type = "a", *access = "rwm";
    rule->major = rule->minor = -1;
    if (!json_is_object(d))
      return err_make(err, EINVAL, "%s: expected an object, got %s", dp, json_type_name(d));
    if (sp_unknown(d, dp, known, err) < 0 ||
        json_get_bool(d, dp, "allow", true, &rule->allow, err) < 0 ||
        json_get_string(d, dp, "type", false, &type, err) < 0 ||
        json_get_string(d, dp, "access", false, &access, err) < 0)
      return -1;
    if (!json_is_null(json_object_get(d, "major")) &&
        json_get_int(d, dp, "major", false, -1, 0xfff, &rule->major, err) < 0)
      return -1;
    if (!json_is_null(json_object_get(d, "minor")) &&
        json_get_int(d, dp, "minor", false, -1, 0xfffff, &rule->minor, err) < 0)
      return -1;
    if (strlen(type) != 1 || !strchr("acb", type[0]))
      return err_make(err, EINVAL, "%s.type: `%s` is not a, c or b", dp, type);
    rule->type = type[0];
    if (!*access || strlen(access) > 3 || access[strspn(access, "rwm")])
      return err_make(err, EINVAL, "%s.access: `%s` is not a combination of r, w and m", dp, access);
    strcpy(rule->access, access);
  }
  return 0;
}

static int parse_dev_list(const json_t *o, const char *p, const char *key, bool weights,
                          void **out, size_t *n, err_t *err)
{
  json_t *arr;
  if (sp_objects(o, p, key, &arr, err) < 0)
    return -1;
  if (!arr)
    return 0;
  _cleanup_free_ char *kp = sp_key(p, key);
  *n = json_array_size(arr);
  size_t sz = weights ? sizeof(struct spec_weight_device) : sizeof(struct spec_throttle_device);
  *out = calloc(*n + 1, sz);
  if (!*out)
    return err_sys(err, "%s", kp);
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d)
  {
    _cleanup_free_ char *dp = sp_idx(kp, i);
    int64_t major = 0, minor = 0;
    if (json_get_int(d, dp, "major", true, 0, 0xfff, &major, err) < 0 ||
        json_get_int(d, dp, "minor", true, 0, 0xfffff, &minor, err) < 0)
      return -1;
    if (weights) {
      static const char *const known[] = {"major", "minor", "weight", "leafWeight", NULL};
      struct spec_weight_device *w = (struct spec_weight_device *)*out + i;
      int64_t weight = -1, leaf = -1;
      if (sp_unknown(d, dp, known, err) < 0 ||
          json_get_int(d, dp, "weight", false, 10, 1000, &weight, err) < 0 ||
          json_get_int(d, dp, "leafWeight", false, 10, 1000, &leaf, err) < 0)
        return -1;
      *w = (struct spec_weight_device){major, minor, (int)weight, (int)leaf};
    } else {
      static const char *const known[] = {"major", "minor", "rate", NULL};
      struct spec_throttle_device *t = (struct spec_throttle_device *)*out + i;
      int64_t rate = 0;
      if (sp_unknown(d, dp, known, err) < 0 ||
          json_get_int(d, dp, "rate", true, 0, INT64_MAX, &rate, err) < 0)
        return -1;
      *t = (struct spec_throttle_device){major, minor, (uint64_t)rate};
    }
  }
  return 0;
}

static int parse_blkio(const json_t *o, const char *p, struct spec_resources *r, err_t *err)
{
  static const char *const throttle[4] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
                                          "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
  static const char *const known[] = {"weight", "leafWeight", "weightDevice",
                                      "throttleReadBpsDevice", "throttleWriteBpsDevice",
                                      "throttleReadIOPSDevice", "throttleWriteIOPSDevice", NULL};
  if (sp_unknown(o, p, known, err) < 0 ||
      json_get_int(o, p, "weight", false, 10, 1000, &r->blkio.weight, err) < 0 ||
      json_get_int(o, p, "leafWeight", false, 10, 1000, &r->blkio.leaf_weight, err) < 0 ||
      parse_dev_list(o, p, "weightDevice", true, (void **)&r->blkio.weight_devices,
                     &r->blkio.n_weight_devices, err) < 0)
    return -1;
  for (int k = 0; k < 4; k++)
    if (parse_dev_list(o, p, throttle[k], false, (void **)&r->blkio.throttle[k],
                       &r->blkio.n_throttle[k], err) < 0)
      return -1;
  return 0;
}

static int parse_hugepages(const json_t *arr, const char *p, struct spec_resources *r, err_t *err)
{
  r->n_hugepages = json_array_size(arr);
  r->hugepages = calloc(r->n_hugepages + 1, sizeof(*r->hugepages));
  if (!r->hugepages)
    return err_sys(err, "%s", p);
  size_t i;
  json_t *h;
  json_array_foreach(arr, i, h)
  {
    _cleanup_free_ char *hp = sp_idx(p, i);
    static const char *const known[] = {"pageSize", "limit", NULL};
    int64_t limit = 0;
    if (sp_unknown(h, hp, known, err) < 0 ||
        json_get_string(h, hp, "pageSize", true, &r->hugepages[i].page_size, err) < 0 ||
        json_get_int(h, hp, "limit", true, 0, INT64_MAX, &limit, err) < 0)
      return -1;
    const char *ps = r->hugepages[i].page_size;
    size_t digits = strspn(ps, "0123456789");
    if (!digits || (strcmp(ps + digits, "KB") && strcmp(ps + digits, "MB") && strcmp(ps + digits, "GB")))
      return err_make(err, EINVAL, "%s.pageSize: `%s` is not a page size such as `2MB`", hp, ps);
    r->hugepages[i].limit = (uint64_t)limit;
  }
  return 0;
}

int spec_parse_resources(const json_t *obj, const char *p, struct spec_resources *r, err_t *err)
{
  static const char *const known[] = {"devices", "memory", "cpu", "blockIO", "hugepageLimits",
                                      "network", "pids", "rdma", "unified", NULL};
  if (!json_is_object(obj))
    return err_make(err, EINVAL, "%s: expected an object, got %s", *p ? p : "resources",
                    json_type_name(obj));
  if (sp_unknown(obj, p, known, err) < 0)
    return -1;
  json_t *v;
#define SUB(key, fn)                                                                             \
  do {                                                                                           \
    if (json_get_object(obj, p, key, false, &v, err) < 0)                                        \
      return -1;                                                                                 \
    if (v) {                                                                                     \
      _cleanup_free_ char *kp = sp_key(p, key);                                                  \
      if (fn(v, kp, r, err) < 0)                                                                 \
        return -1;                                                                               \
    }                                                                                            \
  } while (0)
  SUB("memory", parse_memory);
  SUB("cpu", parse_cpu);
  SUB("blockIO", parse_blkio);
#undef SUB
  if (sp_objects(obj, p, "devices", &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *kp = sp_key(p, "devices");
    if (parse_device_rules(v, kp, r, err) < 0)
      return -1;
  }
  if (sp_objects(obj, p, "hugepageLimits", &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *kp = sp_key(p, "hugepageLimits");
    if (parse_hugepages(v, kp, r, err) < 0)
      return -1;
  }
  if (json_get_object(obj, p, "pids", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *kp = sp_key(p, "pids");
    static const char *const pknown[] = {"limit", NULL};
    if (sp_unknown(v, kp, pknown, err) < 0 ||
        json_get_int(v, kp, "limit", true, -1, INT64_MAX, &r->pids_limit, err) < 0)
      return -1;
  }
  if (json_get_object(obj, p, "network", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *kp = sp_key(p, "network");
    static const char *const nknown[] = {"classID", "priorities", NULL};
    if (sp_unknown(v, kp, nknown, err) < 0 ||
        json_get_int(v, kp, "classID", false, 0, UINT32_MAX, &r->net_class_id, err) < 0)
      return -1;
  }
  if (json_get_object(obj, p, "unified", false, &r->unified, err) < 0)
    return -1;
  if (r->unified) {
    const char *k;
    json_object_foreach(r->unified, k, v)
    {
      if (!json_is_string(v))
        return err_make(err, EINVAL, "%s.unified.%s: expected a string, got %s", p, k,
                        json_type_name(v));
      if (strchr(k, '/') || !strchr(k, '.'))
        return err_make(err, EINVAL, "%s.unified: `%s` is not a cgroup v2 file name", p, k);
    }
  }
  return 0;
}

void spec_resources_release(struct spec_resources *r)
{
  free(r->blkio.weight_devices);
  for (int k = 0; k < 4; k++)
    free(r->blkio.throttle[k]);
  free(r->hugepages);
  free(r->devices);
  spec_resources_init(r);
}

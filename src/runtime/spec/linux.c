/* config-linux.md: namespaces, id mappings, devices, paths, sysctl,
 * personality, time offsets.  Resources and seccomp have their own files. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/spec/internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const int namespace_flags[] = {CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
                                      CLONE_NEWIPC,  CLONE_NEWUTS,    CLONE_NEWCGROUP,
                                      CLONE_NEWTIME, CLONE_NEWNS};

static int parse_namespaces(const json_t *arr, const char *path, struct spec_linux *l, err_t *err)
{
  l->n_namespaces = json_array_size(arr);
  l->namespaces = calloc(l->n_namespaces + 1, sizeof(*l->namespaces));
  if (!l->namespaces)
    return err_sys(err, "%s", path);
  int seen = 0;
  size_t i;
  json_t *ns;
  json_array_foreach(arr, i, ns)
  {
    _cleanup_free_ char *np = sp_idx(path, i);
    static const char *const known[] = {"type", "path", NULL};
    const char *type = NULL;
    if (sp_unknown(ns, np, known, err) < 0 ||
        json_get_string(ns, np, "type", true, &type, err) < 0 ||
        json_get_string(ns, np, "path", false, &l->namespaces[i].path, err) < 0)
      return -1;
    int k = 0;
    while (spec_namespace_names[k] && strcmp(spec_namespace_names[k], type))
      k++;
    if (!spec_namespace_names[k])
      return err_make(err, EINVAL,
                      "%s.type: unknown namespace `%s` (expected pid, network, mount, ipc, uts, "
                      "user, cgroup or time)",
                      np, type);
    if (seen & namespace_flags[k])
      return err_make(err, EINVAL, "%s.type: namespace `%s` is listed twice", np, type);
    seen |= namespace_flags[k];
    l->namespaces[i].type = namespace_flags[k];
    if (l->namespaces[i].path && l->namespaces[i].path[0] != '/')
      return err_make(err, EINVAL, "%s.path: `%s` is not an absolute path", np,
                      l->namespaces[i].path);
  }
  return 0;
}

static int parse_devices(const json_t *arr, const char *path, struct spec_linux *l, err_t *err)
{
  l->n_devices = json_array_size(arr);
  l->devices = calloc(l->n_devices + 1, sizeof(*l->devices));
  if (!l->devices)
    return err_sys(err, "%s", path);
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d)
  {
    _cleanup_free_ char *dp = sp_idx(path, i);
    struct spec_device *dev = &l->devices[i];
    static const char *const known[] = {"path", "type", "major", "minor", "fileMode",
                                        "uid", "gid", NULL};
    const char *type = NULL;
    if (sp_unknown(d, dp, known, err) < 0 ||
        json_get_string(d, dp, "path", true, &dev->path, err) < 0 ||
        json_get_string(d, dp, "type", true, &type, err) < 0)
      return -1;
    if (strlen(type) != 1 || !strchr("cbup", type[0]))
      return err_make(err, EINVAL, "%s.type: `%s` is not a device type (c, b, u or p)", dp, type);
    dev->type = type[0];
    if (dev->path[0] != '/')
      return err_make(err, EINVAL, "%s.path: `%s` is not an absolute path", dp, dev->path);
    bool need_numbers = dev->type != 'p';
    if (json_get_int(d, dp, "major", need_numbers, 0, 0xfff, &dev->major, err) < 0 ||
        json_get_int(d, dp, "minor", need_numbers, 0, 0xfffff, &dev->minor, err) < 0)
      return -1;
    int64_t v;
    if (json_object_get(d, "fileMode")) {
      if (json_get_int(d, dp, "fileMode", true, 0, 07777, &v, err) < 0)
        return -1;
      dev->has_mode = true;
      dev->mode = (mode_t)v;
    }
    if (json_object_get(d, "uid")) {
      dev->has_uid = true;
      if (sp_u32(d, dp, "uid", true, &dev->uid, err) < 0)
        return -1;
    }
    if (json_object_get(d, "gid")) {
      dev->has_gid = true;
      if (sp_u32(d, dp, "gid", true, &dev->gid, err) < 0)
        return -1;
    }
  }
  return 0;
}

static int parse_paths(const json_t *obj, const char *path, const char *key, char ***out,
                       err_t *err)
{
  json_t *arr;
  if (json_get_array(obj, path, key, false, &arr, err) < 0)
    return -1;
  _cleanup_free_ char *kp = sp_key(path, key);
  if (spec_strv(arr, kp, out, err) < 0)
    return -1;
  for (size_t i = 0; (*out)[i]; i++)
    if ((*out)[i][0] != '/')
      return err_make(err, EINVAL, "%s[%zu]: `%s` is not an absolute path", kp, i, (*out)[i]);
  return 0;
}

static int parse_sysctl(const json_t *obj, const char *path, struct spec_linux *l, err_t *err)
{
  if (json_get_object(obj, path, "sysctl", false, &l->sysctl, err) < 0)
    return -1;
  if (!l->sysctl)
    return 0;
  const char *k;
  json_t *v;
  json_object_foreach(l->sysctl, k, v)
  {
    if (!json_is_string(v))
      return err_make(err, EINVAL, "%s.sysctl.%s: expected a string, got %s", path, k,
                      json_type_name(v));
    if (strstr(k, "..") || strchr(k, '/') == k)
      return err_make(err, EINVAL, "%s.sysctl: `%s` is not a sysctl name", path, k);
  }
  return 0;
}

static int parse_personality(const json_t *obj, const char *path, struct spec_linux *l, err_t *err)
{
  json_t *p;
  if (json_get_object(obj, path, "personality", false, &p, err) < 0)
    return -1;
  if (!p)
    return 0;
  _cleanup_free_ char *pp = sp_key(path, "personality");
  static const char *const known[] = {"domain", "flags", NULL};
  const char *domain = NULL;
  if (sp_unknown(p, pp, known, err) < 0 ||
      json_get_string(p, pp, "domain", true, &domain, err) < 0)
    return -1;
  if (!strcmp(domain, "LINUX"))
    l->personality = PER_LINUX;
  else if (!strcmp(domain, "LINUX32"))
    l->personality = PER_LINUX32;
  else
    return err_make(err, EINVAL, "%s.domain: `%s` is not LINUX or LINUX32", pp, domain);
  l->has_personality = true;
  return 0;
}

static int parse_time_offsets(const json_t *obj, const char *path, struct spec_linux *l,
                              err_t *err)
{
  json_t *t;
  if (json_get_object(obj, path, "timeOffsets", false, &t, err) < 0)
    return -1;
  if (!t)
    return 0;
  _cleanup_free_ char *tp = sp_key(path, "timeOffsets");
  static const char *const known[] = {"boottime", "monotonic", NULL};
  static const char *const kknown[] = {"secs", "nanosecs", NULL};
  if (sp_unknown(t, tp, known, err) < 0)
    return -1;
  json_t *b = json_object_get(t, "boottime"), *m = json_object_get(t, "monotonic");
  if (b) {
    _cleanup_free_ char *bp = sp_key(tp, "boottime");
    l->time_offsets.has_boottime = true;
    if (sp_unknown(b, bp, kknown, err) < 0 ||
        sp_i64(b, bp, "secs", &l->time_offsets.boottime_secs, err) < 0 ||
        json_get_int(b, bp, "nanosecs", false, 0, 999999999, &l->time_offsets.boottime_nanosecs,
                     err) < 0)
      return -1;
  }
  if (m) {
    _cleanup_free_ char *mp = sp_key(tp, "monotonic");
    l->time_offsets.has_monotonic = true;
    if (sp_unknown(m, mp, kknown, err) < 0 ||
        sp_i64(m, mp, "secs", &l->time_offsets.monotonic_secs, err) < 0 ||
        json_get_int(m, mp, "nanosecs", false, 0, 999999999,
                     &l->time_offsets.monotonic_nanosecs, err) < 0)
      return -1;
  }
  return 0;
}

int sp_parse_linux(const json_t *obj, const char *path, struct spec_linux *l, err_t *err)
{
  static const char *const known[] = {
      "namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "cgroupsPath",
      "resources", "rootfsPropagation", "seccomp", "sysctl", "maskedPaths", "readonlyPaths",
      "mountLabel", "intelRdt", "personality", "netDevices", "memoryPolicy", NULL};
  spec_resources_init(&l->resources);
  if (sp_unknown(obj, path, known, err) < 0 ||
      json_get_string(obj, path, "cgroupsPath", false, &l->cgroups_path, err) < 0 ||
      json_get_string(obj, path, "rootfsPropagation", false, &l->rootfs_propagation, err) < 0 ||
      json_get_string(obj, path, "mountLabel", false, &l->mount_label, err) < 0)
    return -1;
  if (l->rootfs_propagation) {
    static const char *const props[] = {"shared", "slave", "private", "unbindable", "rshared",
                                        "rslave", "rprivate", "runbindable", NULL};
    int k = 0;
    while (props[k] && strcmp(props[k], l->rootfs_propagation))
      k++;
    if (!props[k])
      return err_make(err, EINVAL, "%s.rootfsPropagation: `%s` is not a propagation mode", path,
                      l->rootfs_propagation);
  }
  json_t *v;
  if (sp_objects(obj, path, "namespaces", &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *np = sp_key(path, "namespaces");
    if (parse_namespaces(v, np, l, err) < 0)
      return -1;
  }
  if (sp_parse_idmaps(obj, path, "uidMappings", &l->uid_mappings, &l->n_uid_mappings, err) < 0 ||
      sp_parse_idmaps(obj, path, "gidMappings", &l->gid_mappings, &l->n_gid_mappings, err) < 0)
    return -1;
  if (sp_objects(obj, path, "devices", &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *dp = sp_key(path, "devices");
    if (parse_devices(v, dp, l, err) < 0)
      return -1;
  }
  if (json_get_object(obj, path, "resources", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *rp = sp_key(path, "resources");
    l->has_resources = true;
    if (spec_parse_resources(v, rp, &l->resources, err) < 0)
      return -1;
  }
  if (json_get_object(obj, path, "seccomp", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *sp = sp_key(path, "seccomp");
    if (sp_parse_seccomp(v, sp, &l->seccomp, err) < 0)
      return -1;
  }
  if (parse_paths(obj, path, "maskedPaths", &l->masked_paths, err) < 0 ||
      parse_paths(obj, path, "readonlyPaths", &l->readonly_paths, err) < 0 ||
      parse_sysctl(obj, path, l, err) < 0 || parse_personality(obj, path, l, err) < 0 ||
      parse_time_offsets(obj, path, l, err) < 0)
    return -1;
  if (json_object_get(obj, "intelRdt"))
    log_warn("%s.intelRdt: Intel RDT is not supported; the setting is ignored", path);
  return 0;
}

void sp_release_linux(struct spec_linux *l)
{
  free(l->namespaces);
  free(l->uid_mappings);
  free(l->gid_mappings);
  free(l->devices);
  free(l->masked_paths);
  free(l->readonly_paths);
  spec_resources_release(&l->resources);
  sp_release_seccomp(l->seccomp);
  memset(l, 0, sizeof(*l));
}

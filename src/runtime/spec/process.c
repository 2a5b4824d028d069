/* config.md "Process". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/spec/internal.h"

static int parse_user(const json_t *obj, const char *path, struct spec_user *u, err_t *err)
{
  static const char *const known[] = {"uid", "gid", "umask", "additionalGids", "username", NULL};
  if (sp_unknown(obj, path, known, err) < 0 ||
      sp_u32(obj, path, "uid", true, &u->uid, err) < 0 ||
      sp_u32(obj, path, "gid", true, &u->gid, err) < 0 ||
      json_get_string(obj, path, "username", false, &u->username, err) < 0)
    return -1;
  int64_t umask = -1;
  if (json_get_int(obj, path, "umask", false, 0, 07777, &umask, err) < 0)
    return -1;
  u->umask = (int)umask;
  json_t *gids;
  if (json_get_array(obj, path, "additionalGids", false, &gids, err) < 0)
    return -1;
  if (gids) {
    u->n_additional_gids = json_array_size(gids);
    u->additional_gids = calloc(u->n_additional_gids + 1, sizeof(uint32_t));
    if (!u->additional_gids)
      return err_sys(err, "%s.additionalGids", path);
    size_t i;
    json_t *g;
    json_array_foreach(gids, i, g)
    {
      if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > UINT32_MAX)
        return err_make(err, EINVAL, "%s.additionalGids[%zu]: expected a group id (0 to 4294967295)",
                        path, i);
      u->additional_gids[i] = (uint32_t)json_integer_value(g);
    }
  }
  return 0;
}

static int parse_caps(const json_t *obj, const char *path, uint64_t caps[SPEC_CAP_SETS],
                      err_t *err)
{
  static const char *const sets[SPEC_CAP_SETS] = {"bounding", "effective", "inheritable",
                                                  "permitted", "ambient"};
  static const char *const known[] = {"bounding", "effective", "inheritable", "permitted",
                                      "ambient", NULL};
  if (sp_unknown(obj, path, known, err) < 0)
    return -1;
  for (int s = 0; s < SPEC_CAP_SETS; s++) {
    json_t *arr;
    if (json_get_array(obj, path, sets[s], false, &arr, err) < 0)
      return -1;
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
      if (!json_is_string(c))
        return err_make(err, EINVAL, "%s.%s[%zu]: expected a capability name, got %s", path,
                        sets[s], i, json_type_name(c));
      int n = spec_cap_from_name(json_string_value(c));
      if (n < 0) {
        /* runc and crun ignore a name they (or this kernel) do not know,
         * so that a config written for a newer kernel still runs. */
        log_warn("%s.%s[%zu]: unknown capability `%s`, ignored", path, sets[s], i,
                 json_string_value(c));
        continue;
      }
      caps[s] |= 1ULL << n;
    }
  }
  return 0;
}

static int parse_rlimits(const json_t *arr, const char *path, struct spec_process *p, err_t *err)
{
  p->n_rlimits = json_array_size(arr);
  p->rlimits = calloc(p->n_rlimits + 1, sizeof(*p->rlimits));
  if (!p->rlimits)
    return err_sys(err, "%s", path);
  size_t i;
  json_t *r;
  json_array_foreach(arr, i, r)
  {
    _cleanup_free_ char *rp = sp_idx(path, i);
    static const char *const known[] = {"type", "soft", "hard", NULL};
    const char *type = NULL;
    if (!json_is_object(r))
      return err_make(err, EINVAL, "%s: expected an object, got %s", rp, json_type_name(r));
    if (sp_unknown(r, rp, known, err) < 0 ||
        json_get_string(r, rp, "type", true, &type, err) < 0)
      return -1;
    int res = spec_rlimit_from_name(type);
    if (res < 0)
      return err_make(err, EINVAL, "%s.type: unknown rlimit `%s` (expected RLIMIT_NOFILE, ...)", rp,
                      type);
    p->rlimits[i].resource = res;
    if (!json_object_get(r, "soft") || !json_object_get(r, "hard"))
      return err_make(err, EINVAL, "%s: both `soft` and `hard` are required", rp);
    if (sp_u64(r, rp, "soft", &p->rlimits[i].soft, err) < 0 ||
        sp_u64(r, rp, "hard", &p->rlimits[i].hard, err) < 0)
      return -1;
  }
  return 0;
}

int spec_parse_process(const json_t *obj, const char *path, struct spec_process *p, err_t *err)
{
  static const char *const known[] = {
      "terminal", "consoleSize", "args", "commandLine", "env", "cwd", "user", "capabilities",
      "noNewPrivileges", "rlimits", "oomScoreAdj", "apparmorProfile", "selinuxLabel",
      "scheduler", "ioPriority", "execCPUAffinity", NULL};
  memset(p, 0, sizeof(*p));
  p->user.umask = -1;
  if (!json_is_object(obj))
    return err_make(err, EINVAL, "%s: expected an object, got %s", path, json_type_name(obj));
  if (sp_unknown(obj, path, known, err) < 0 ||
      json_get_bool(obj, path, "terminal", false, &p->terminal, err) < 0 ||
      json_get_string(obj, path, "cwd", true, &p->cwd, err) < 0 ||
      json_get_bool(obj, path, "noNewPrivileges", false, &p->no_new_privileges, err) < 0 ||
      json_get_string(obj, path, "apparmorProfile", false, &p->apparmor_profile, err) < 0 ||
      json_get_string(obj, path, "selinuxLabel", false, &p->selinux_label, err) < 0)
    return -1;
  if (p->cwd[0] != '/')
    return err_make(err, EINVAL, "%s.cwd: `%s` is not an absolute path", path, p->cwd);

  json_t *v;
  if (json_get_object(obj, path, "consoleSize", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *cp = sp_key(path, "consoleSize");
    static const char *const cknown[] = {"height", "width", NULL};
    if (sp_unknown(v, cp, cknown, err) < 0 ||
        sp_u32(v, cp, "height", true, &p->console_height, err) < 0 ||
        sp_u32(v, cp, "width", true, &p->console_width, err) < 0)
      return -1;
  }

  if (json_get_array(obj, path, "args", true, &v, err) < 0)
    return -1;
  _cleanup_free_ char *ap = sp_key(path, "args");
  if (spec_strv(v, ap, &p->args, err) < 0)
    return -1;
  if (!p->args[0])
    return err_make(err, EINVAL, "%s: must name at least the program to run", ap);

  if (json_get_array(obj, path, "env", false, &v, err) < 0)
    return -1;
  _cleanup_free_ char *ep = sp_key(path, "env");
  if (spec_strv(v, ep, &p->env, err) < 0)
    return -1;

  /* Without `user` (a process.json for exec often has none), uid and gid
   * 0, as with runc. */
  if (json_get_object(obj, path, "user", false, &v, err) < 0)
    return -1;
  _cleanup_free_ char *up = sp_key(path, "user");
  if (v && parse_user(v, up, &p->user, err) < 0)
    return -1;

  if (json_get_object(obj, path, "capabilities", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *cp = sp_key(path, "capabilities");
    p->has_caps = true;
    if (parse_caps(v, cp, p->caps, err) < 0)
      return -1;
  }

  if (json_get_array(obj, path, "rlimits", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *rp = sp_key(path, "rlimits");
    if (parse_rlimits(v, rp, p, err) < 0)
      return -1;
  }

  if (json_object_get(obj, "oomScoreAdj")) {
    int64_t adj = 0;
    if (json_get_int(obj, path, "oomScoreAdj", true, -1000, 1000, &adj, err) < 0)
      return -1;
    p->has_oom_score_adj = true;
    p->oom_score_adj = (int)adj;
  }
  return 0;
}

void spec_process_release(struct spec_process *p)
{
  free(p->args);
  free(p->env);
  free(p->user.additional_gids);
  free(p->rlimits);
  memset(p, 0, sizeof(*p));
}

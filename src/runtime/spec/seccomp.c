/* config-linux.md "Seccomp": parsed and checked here, compiled into a BPF
 * filter by runtime/seccomp.c at start. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "runtime/spec/internal.h"

static const struct {
  const char *name;
  uint32_t action;
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
};

static const struct {
  const char *name;
  int op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const char *const flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};

static int parse_action(const json_t *o, const char *path, const char *key, uint32_t *out,
                        err_t *err)
{
  const char *name = NULL;
  if (json_get_string(o, path, key, true, &name, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
    if (!strcmp(name, actions[i].name)) {
      *out = actions[i].action;
      return 0;
    }
  return err_make(err, EINVAL, "%s.%s: unknown seccomp action `%s`", path, key, name);
}

static int parse_arch(const char *name, const char *path, uint32_t *out, err_t *err)
{
  if (strncmp(name, "SCMP_ARCH_", 10) != 0)
    return err_make(err, EINVAL, "%s: `%s` is not an architecture (SCMP_ARCH_X86_64, ...)", path,
                    name);
  char lower[32];
  size_t n = 0;
  for (const char *c = name + 10; *c && n < sizeof(lower) - 1; c++)
    lower[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
  lower[n] = '\0';
  uint32_t a = seccomp_arch_resolve_name(lower);
  if (!a)
    return err_make(err, EINVAL, "%s: architecture `%s` is not known to libseccomp", path, name);
  *out = a;
  return 0;
}

static int parse_rule(const json_t *o, const char *path, struct spec_seccomp_rule *r, err_t *err)
{
  static const char *const known[] = {"names", "action", "errnoRet", "args", "comment",
                                      "includes", "excludes", NULL};
  if (json_reject_unknown(o, path, known, err) < 0 || parse_action(o, path, "action", &r->action, err) < 0)
    return -1;
  json_t *v;
  if (json_get_array(o, path, "names", true, &v, err) < 0)
    return -1;
  _cleanup_free_ char *np = sp_key(path, "names");
  if (spec_strv(v, np, &r->names, err) < 0)
    return -1;
  int64_t e = -1;
  if (json_get_int(o, path, "errnoRet", false, 0, 4095, &e, err) < 0)
    return -1;
  r->errno_ret = (int)e;
  if (json_get_array(o, path, "args", false, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  _cleanup_free_ char *ap = sp_key(path, "args");
  r->n_args = json_array_size(v);
  r->args = calloc(r->n_args + 1, sizeof(*r->args));
  if (!r->args)
    return err_sys(err, "%s", ap);
  size_t i;
  json_t *a;
  json_array_foreach(v, i, a)
  {
    _cleanup_free_ char *ip = sp_idx(ap, i);
    static const char *const aknown[] = {"index", "value", "valueTwo", "op", NULL};
    const char *op = NULL;
    int64_t index = 0;
    if (!json_is_object(a))
      return err_make(err, EINVAL, "%s: expected an object, got %s", ip, json_type_name(a));
    if (json_reject_unknown(a, ip, aknown, err) < 0 ||
        json_get_int(a, ip, "index", true, 0, 5, &index, err) < 0 ||
        sp_u64(a, ip, "value", &r->args[i].value, err) < 0 ||
        sp_u64(a, ip, "valueTwo", &r->args[i].value_two, err) < 0 ||
        json_get_string(a, ip, "op", true, &op, err) < 0)
      return -1;
    r->args[i].index = (unsigned)index;
    size_t k = 0;
    while (k < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[k].name, op))
      k++;
    if (k == sizeof(ops) / sizeof(ops[0]))
      return err_make(err, EINVAL, "%s.op: unknown comparison `%s`", ip, op);
    r->args[i].op = ops[k].op;
  }
  return 0;
}

int sp_parse_seccomp(const json_t *obj, const char *path, struct spec_seccomp **out, err_t *err)
{
  static const char *const known[] = {"defaultAction", "defaultErrnoRet", "architectures",
                                      "flags", "listenerPath", "listenerMetadata", "syscalls",
                                      NULL};
  struct spec_seccomp *s = calloc(1, sizeof(*s));
  if (!s)
    return err_sys(err, "%s", path);
  *out = s;
  if (json_reject_unknown(obj, path, known, err) < 0 ||
      parse_action(obj, path, "defaultAction", &s->default_action, err) < 0 ||
      json_get_string(obj, path, "listenerPath", false, &s->listener_path, err) < 0 ||
      json_get_string(obj, path, "listenerMetadata", false, &s->listener_metadata, err) < 0)
    return -1;
  int64_t e = -1;
  if (json_get_int(obj, path, "defaultErrnoRet", false, 0, 4095, &e, err) < 0)
    return -1;
  s->default_errno_ret = (int)e;
  json_t *v;
  if (json_get_array(obj, path, "architectures", false, &v, err) < 0)
    return -1;
  if (v) {
    s->n_arches = json_array_size(v);
    s->arches = calloc(s->n_arches + 1, sizeof(*s->arches));
    if (!s->arches)
      return err_sys(err, "%s", path);
    size_t i;
    json_t *a;
    json_array_foreach(v, i, a)
    {
      _cleanup_free_ char *ap = sp_idx(path, i);
      if (!json_is_string(a))
        return err_make(err, EINVAL, "%s.architectures[%zu]: expected a string", path, i);
      if (parse_arch(json_string_value(a), ap, &s->arches[i], err) < 0)
        return -1;
    }
  }
  if (json_get_array(obj, path, "flags", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *fp = sp_key(path, "flags");
    if (spec_strv(v, fp, &s->flags, err) < 0)
      return -1;
    for (size_t i = 0; s->flags[i]; i++) {
      size_t k = 0;
      while (flag_names[k] && strcmp(flag_names[k], s->flags[i]))
        k++;
      if (!flag_names[k])
        return err_make(err, EINVAL, "%s[%zu]: unknown seccomp flag `%s`", fp, i, s->flags[i]);
    }
  }
  if (s->default_action == SCMP_ACT_NOTIFY && !s->listener_path)
    return err_make(err, EINVAL, "%s.listenerPath: required when an action is SCMP_ACT_NOTIFY",
                    path);
  if (sp_objects(obj, path, "syscalls", &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  _cleanup_free_ char *sp = sp_key(path, "syscalls");
  s->n_rules = json_array_size(v);
  s->rules = calloc(s->n_rules + 1, sizeof(*s->rules));
  if (!s->rules)
    return err_sys(err, "%s", sp);
  size_t i;
  json_t *r;
  json_array_foreach(v, i, r)
  {
    _cleanup_free_ char *rp = sp_idx(sp, i);
    if (parse_rule(r, rp, &s->rules[i], err) < 0)
      return -1;
    if (s->rules[i].action == SCMP_ACT_NOTIFY && !s->listener_path)
      return err_make(err, EINVAL, "%s.listenerPath: required when an action is SCMP_ACT_NOTIFY",
                      path);
  }
  return 0;
}

void sp_release_seccomp(struct spec_seccomp *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n_rules; i++) {
    free(s->rules[i].names);
    free(s->rules[i].args);
  }
  free(s->rules);
  free(s->arches);
  free(s->flags);
  free(s);
}

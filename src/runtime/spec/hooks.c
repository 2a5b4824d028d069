/* config.md "POSIX-platform Hooks". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "runtime/spec/internal.h"

static int parse_hook(const json_t *obj, const char *path, struct spec_hook *h, err_t *err)
{
  static const char *const known[] = {"path", "args", "env", "timeout", NULL};
  if (sp_unknown(obj, path, known, err) < 0 ||
      json_get_string(obj, path, "path", true, &h->path, err) < 0)
    return -1;
  if (h->path[0] != '/')
    return err_make(err, EINVAL, "%s.path: `%s` is not an absolute path", path, h->path);
  json_t *v;
  if (json_get_array(obj, path, "args", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *ap = sp_key(path, "args");
    if (spec_strv(v, ap, &h->args, err) < 0)
      return -1;
  }
  if (json_get_array(obj, path, "env", false, &v, err) < 0)
    return -1;
  if (v) {
    _cleanup_free_ char *ep = sp_key(path, "env");
    if (spec_strv(v, ep, &h->env, err) < 0)
      return -1;
  }
  int64_t t = 0;
  if (json_get_int(obj, path, "timeout", false, 1, 86400, &t, err) < 0)
    return -1;
  h->timeout = (int)t;
  return 0;
}

int sp_parse_hooks(const json_t *obj, const char *path, struct spec *s, err_t *err)
{
  if (sp_unknown(obj, path, (const char *const *)spec_hook_names, err) < 0)
    return -1;
  for (int k = 0; k < HOOK_KINDS; k++) {
    json_t *arr;
    if (sp_objects(obj, path, spec_hook_names[k], &arr, err) < 0)
      return -1;
    if (!arr)
      continue;
    _cleanup_free_ char *kp = sp_key(path, spec_hook_names[k]);
    s->n_hooks[k] = json_array_size(arr);
    s->hooks[k] = calloc(s->n_hooks[k] + 1, sizeof(struct spec_hook));
    if (!s->hooks[k])
      return err_sys(err, "%s", kp);
    size_t i;
    json_t *h;
    json_array_foreach(arr, i, h)
    {
      _cleanup_free_ char *hp = sp_idx(kp, i);
      if (parse_hook(h, hp, &s->hooks[k][i], err) < 0)
        return -1;
    }
  }
  return 0;
}

void sp_release_hooks(struct spec *s)
{
  for (int k = 0; k < HOOK_KINDS; k++) {
    for (size_t i = 0; i < s->n_hooks[k]; i++) {
      free(s->hooks[k][i].args);
      free(s->hooks[k][i].env);
    }
    free(s->hooks[k]);
    s->hooks[k] = NULL;
    s->n_hooks[k] = 0;
  }
}

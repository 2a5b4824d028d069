#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/spec/internal.h"

char *sp_key(const char *path, const char *key)
{
  char *s = NULL;
  if (asprintf(&s, "%s%s%s", path, *path ? "." : "", key) < 0)
    return NULL;
  return s;
}

int sp_unknown(const json_t *obj, const char *path, const char *const *known, err_t *err)
{
  (void)err;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v)
  {
    bool ok = false;
    for (const char *const *k = known; *k && !ok; k++)
      ok = !strcmp(*k, key);
    if (!ok)
      log_warn("%s%s%s: unknown field, ignored (check its spelling)", path, *path ? "." : "", key);
  }
  return 0;
}

char *sp_idx(const char *path, size_t i)
{
  char *s = NULL;
  if (asprintf(&s, "%s[%zu]", path, i) < 0)
    return NULL;
  return s;
}

int sp_u32(const json_t *obj, const char *path, const char *key, bool required, uint32_t *out,
           err_t *err)
{
  int64_t v = *out;
  if (json_get_int(obj, path, key, required, 0, UINT32_MAX, &v, err) < 0)
    return -1;
  *out = (uint32_t)v;
  return 0;
}

int sp_i64(const json_t *obj, const char *path, const char *key, int64_t *out, err_t *err)
{
  return json_get_int(obj, path, key, false, INT64_MIN + 1, INT64_MAX, out, err);
}

int sp_u64(const json_t *obj, const char *path, const char *key, uint64_t *out, err_t *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v)
    return 0;
  if (!json_is_integer(v))
    return err_make(err, EINVAL, "%s%s%s: expected an integer, got %s", path, *path ? "." : "",
                    key, json_type_name(v));
  /* jansson stores integers as signed 64-bit; RLIM_INFINITY and the like
   * arrive as -1 or as large values that wrapped: both mean "all bits". */
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

int sp_objects(const json_t *obj, const char *path, const char *key, json_t **arr, err_t *err)
{
  if (json_get_array(obj, path, key, false, arr, err) < 0)
    return -1;
  if (!*arr)
    return 0;
  size_t i;
  json_t *v;
  json_array_foreach(*arr, i, v)
  {
    if (!json_is_object(v))
      return err_make(err, EINVAL, "%s%s%s[%zu]: expected an object, got %s", path,
                      *path ? "." : "", key, i, json_type_name(v));
  }
  return 0;
}

int spec_strv(const json_t *arr, const char *path, char ***out, err_t *err)
{
  if (!arr) { /* an absent optional list: empty */
    if (!(*out = calloc(1, sizeof(**out))))
      return err_sys(err, "%s", path);
    return 0;
  }
  if (!json_is_array(arr))
    return err_make(err, EINVAL, "%s: expected an array of strings, got %s", path,
                    json_type_name(arr));
  size_t n = json_array_size(arr), i;
  char **v = calloc(n + 1, sizeof(*v));
  if (!v)
    return err_sys(err, "%s", path);
  json_t *s;
  json_array_foreach(arr, i, s)
  {
    if (!json_is_string(s)) {
      free(v);
      return err_make(err, EINVAL, "%s[%zu]: expected a string, got %s", path, i,
                      json_type_name(s));
    }
    v[i] = (char *)json_string_value(s);
  }
  *out = v;
  return 0;
}

int sp_parse_idmaps(const json_t *obj, const char *path, const char *key, struct spec_idmap **out,
                    size_t *n, err_t *err)
{
  json_t *arr;
  if (sp_objects(obj, path, key, &arr, err) < 0)
    return -1;
  if (!arr)
    return 0;
  _cleanup_free_ char *kp = sp_key(path, key);
  *n = json_array_size(arr);
  *out = calloc(*n ? *n : 1, sizeof(**out));
  if (!*out)
    return err_sys(err, "%s", kp);
  size_t i;
  json_t *m;
  json_array_foreach(arr, i, m)
  {
    _cleanup_free_ char *p = sp_idx(kp, i);
    static const char *const known[] = {"containerID", "hostID", "size", NULL};
    if (sp_unknown(m, p, known, err) < 0 ||
        sp_u32(m, p, "containerID", true, &(*out)[i].container_id, err) < 0 ||
        sp_u32(m, p, "hostID", true, &(*out)[i].host_id, err) < 0 ||
        sp_u32(m, p, "size", true, &(*out)[i].size, err) < 0)
      return -1;
  }
  return 0;
}

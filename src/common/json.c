#include "common/json.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/file.h"

/* Config files are small; a cap keeps a hostile file from eating memory. */
#define JSON_MAX_FILE (64u << 20)

int json_load_text(const char *text, size_t len, const char *what, json_t **out, err_t *err)
{
  json_error_t je;
  json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!v)
    return err_make(err, EINVAL, "%s: line %d, column %d: %s", what, je.line, je.column, je.text);
  *out = v;
  return 0;
}

int json_load_path(const char *path, json_t **out, err_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (file_read_all(path, JSON_MAX_FILE, &buf, &len, err) < 0)
    return -1;
  return json_load_text(buf, len, path, out, err);
}

const char *json_type_name(const json_t *v)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "unknown";
}

static const char *sep(const char *path)
{
  return *path ? "." : "";
}

static int lookup(const json_t *obj, const char *path, const char *key, bool required, json_t **v,
                  err_t *err)
{
  *v = json_object_get(obj, key);
  if (!*v && required)
    return err_make(err, EINVAL, "%s%s%s: required field is missing", path, sep(path), key);
  return 0;
}

static int wrong_type(const char *path, const char *key, const char *want, const json_t *v,
                      err_t *err)
{
  return err_make(err, EINVAL, "%s%s%s: expected %s, got %s", path, sep(path), key, want,
                  json_type_name(v));
}

int json_get_string(const json_t *obj, const char *path, const char *key, bool required,
                    const char **out, err_t *err)
{
  json_t *v;
  if (lookup(obj, path, key, required, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (!json_is_string(v))
    return wrong_type(path, key, "a string", v, err);
  *out = json_string_value(v);
  return 0;
}

int json_get_bool(const json_t *obj, const char *path, const char *key, bool required, bool *out,
                  err_t *err)
{
  json_t *v;
  if (lookup(obj, path, key, required, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (!json_is_boolean(v))
    return wrong_type(path, key, "a boolean", v, err);
  *out = json_is_true(v);
  return 0;
}

int json_get_int(const json_t *obj, const char *path, const char *key, bool required, int64_t min,
                 int64_t max, int64_t *out, err_t *err)
{
  json_t *v;
  if (lookup(obj, path, key, required, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (!json_is_integer(v))
    return wrong_type(path, key, "an integer", v, err);
  json_int_t i = json_integer_value(v);
  if (i < min || i > max)
    return err_make(err, ERANGE, "%s%s%s: %lld is out of range [%lld, %lld]", path, sep(path), key,
                    (long long)i, (long long)min, (long long)max);
  *out = i;
  return 0;
}

int json_get_object(const json_t *obj, const char *path, const char *key, bool required,
                    json_t **out, err_t *err)
{
  json_t *v;
  if (lookup(obj, path, key, required, &v, err) < 0)
    return -1;
  if (v && !json_is_object(v))
    return wrong_type(path, key, "an object", v, err);
  *out = v;
  return 0;
}

int json_get_array(const json_t *obj, const char *path, const char *key, bool required,
                   json_t **out, err_t *err)
{
  json_t *v;
  if (lookup(obj, path, key, required, &v, err) < 0)
    return -1;
  if (v && !json_is_array(v))
    return wrong_type(path, key, "an array", v, err);
  *out = v;
  return 0;
}

int json_reject_unknown(const json_t *obj, const char *path, const char *const *known, err_t *err)
{
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v)
  {
    bool ok = false;
    for (const char *const *k = known; *k && !ok; k++)
      ok = !strcmp(*k, key);
    if (!ok)
      return err_make(err, EINVAL, "%s%s%s: unknown field (check its spelling)", path, sep(path), key);
  }
  return 0;
}

int json_write_path(const char *path, const json_t *v, size_t flags, bool durable, err_t *err)
{
  _cleanup_free_ char *s = json_dumps(v, flags);
  if (!s)
    return err_make(err, ENOMEM, "cannot serialize JSON for `%s`", path);
  size_t n = strlen(s);
  _cleanup_free_ char *line = malloc(n + 2);
  if (!line)
    return err_sys(err, "cannot write `%s`", path);
  memcpy(line, s, n);
  line[n] = '\n';
  return file_write_atomic(path, line, n + 1, 0644, durable, err);
}

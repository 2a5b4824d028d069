/* Readers of a request body's fields: every error names the field. */
#include <string.h>

#include "vmm/ratelimit.h"

#include "vmm/api/internal.h"

int api_str_field(json_t *b, const char *key, bool required, const char **out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v && !required)
    return 0;
  if (!json_is_string(v)) {
    *r = api_fault(400, "%s: %s", key, v ? "must be a string" : "missing field");
    return -1;
  }
  *out = json_string_value(v);
  return 0;
}

int api_int_field(json_t *b, const char *key, bool required, long min, long max, long *out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v && !required)
    return 0;
  if (!v) {
    *r = api_fault(400, "%s: missing field", key);
    return -1;
  }
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
    *r = api_fault(400, "%s: must be a whole number from %ld to %ld", key, min, max);
    return -1;
  }
  *out = (long)json_integer_value(v);
  return 0;
}

int api_bool_field(json_t *b, const char *key, bool *out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v)
    return 0;
  if (!json_is_boolean(v)) {
    *r = api_fault(400, "%s: must be true or false", key);
    return -1;
  }
  *out = json_is_true(v);
  return 0;
}

int api_known_fields(json_t *b, const char *const *known, struct reply *r)
{
  const char *k;
  json_t *v;
  json_object_foreach(b, k, v)
  {
    bool found = false;
    for (const char *const *p = known; *p && !found; p++)
      found = !strcmp(*p, k);
    if (!found) {
      *r = api_fault(400, "unknown field `%s`", k);
      return -1;
    }
  }
  return 0;
}

int api_limit_field(json_t *b, const char *key, struct ratelimit_config *out, struct reply *r)
{
  json_t *v = json_object_get(b, key);
  if (!v)
    return 0;
  struct ratelimit_config next = *out;
  err_t err = NULL;
  if (ratelimit_from_json(v, key, &next, &err) < 0) {
    *r = api_fault_err(NULL, &err);
    return -1;
  }
  /* a bucket left out keeps its limits (Firecracker's PATCH); size 0 lifts one */
  if (json_object_get(v, "bandwidth") || json_is_null(v))
    out->bandwidth = next.bandwidth;
  if (json_object_get(v, "ops") || json_is_null(v))
    out->ops = next.ops;
  return 0;
}

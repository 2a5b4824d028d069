/* JSON helpers over jansson.  Errors name the file, line and column for
 * syntax errors, and the JSON path ("process.args[2]") for wrong fields, so
 * a user can find what to fix. */
#ifndef ISOLA_COMMON_JSON_H
#define ISOLA_COMMON_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* jansson (>= 2.11) ships json_decrefp for exactly this. */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* Parse a file; `what` names it in messages (e.g. "config.json"). */
int json_load_path(const char *path, json_t **out, err_t *err);
int json_load_text(const char *text, size_t len, const char *what, json_t **out, err_t *err);

/* Name of a JSON type as users know it: "object", "string", "number"... */
const char *json_type_name(const json_t *v);

/* Typed member access.  `path` is the JSON path of `obj`, used in messages.
 * A missing member leaves *out untouched and returns 0 unless `required`. */
int json_get_string(const json_t *obj, const char *path, const char *key, bool required,
                    const char **out, err_t *err);
int json_get_bool(const json_t *obj, const char *path, const char *key, bool required, bool *out,
                  err_t *err);
int json_get_int(const json_t *obj, const char *path, const char *key, bool required, int64_t min,
                 int64_t max, int64_t *out, err_t *err);
/* Object or array members: returns the borrowed reference (NULL if absent). */
int json_get_object(const json_t *obj, const char *path, const char *key, bool required,
                    json_t **out, err_t *err);
int json_get_array(const json_t *obj, const char *path, const char *key, bool required,
                   json_t **out, err_t *err);

/* Fail on members not named in the NULL-terminated `known` list: typos in a
 * config must not be silently ignored. */
int json_reject_unknown(const json_t *obj, const char *path, const char *const *known, err_t *err);

/* Serialize and write atomically with a trailing newline. */
int json_write_path(const char *path, const json_t *v, size_t flags, bool durable, err_t *err);

#endif

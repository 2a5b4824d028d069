/* Helpers shared by the spec parser's files only. */
#ifndef ISOLA_RUNTIME_SPEC_INTERNAL_H
#define ISOLA_RUNTIME_SPEC_INTERNAL_H

#include "common/json.h"
#include "runtime/spec/spec.h"

/* "path.key" and "path[i]"; NULL on allocation failure. */
char *sp_key(const char *path, const char *key);
char *sp_idx(const char *path, size_t i);

int sp_u32(const json_t *obj, const char *path, const char *key, bool required, uint32_t *out,
           err_t *err);
int sp_i64(const json_t *obj, const char *path, const char *key, int64_t *out, err_t *err);
int sp_u64(const json_t *obj, const char *path, const char *key, uint64_t *out, err_t *err);

/* Warn about each member of obj not in `known` (NULL-terminated) and go
 * on: the OCI spec says a runtime MUST NOT fail on unknown properties, and
 * runc and crun ignore them.  Always returns 0; err is kept so that it reads
 * like the strict checks it sits among. */
int sp_unknown(const json_t *obj, const char *path, const char *const *known, err_t *err);

/* An object member that must be an array of objects: n and the array. */
int sp_objects(const json_t *obj, const char *path, const char *key, json_t **arr, err_t *err);

int sp_parse_linux(const json_t *obj, const char *path, struct spec_linux *out, err_t *err);
void sp_release_linux(struct spec_linux *l);
int sp_parse_mounts(const json_t *arr, const char *path, struct spec *s, err_t *err);
void sp_release_mounts(struct spec *s);
int sp_parse_hooks(const json_t *obj, const char *path, struct spec *s, err_t *err);
void sp_release_hooks(struct spec *s);
int sp_parse_seccomp(const json_t *obj, const char *path, struct spec_seccomp **out, err_t *err);
void sp_release_seccomp(struct spec_seccomp *s);
int sp_parse_idmaps(const json_t *obj, const char *path, const char *key, struct spec_idmap **out,
                    size_t *n, err_t *err);

#endif

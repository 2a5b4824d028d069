/* Sizes, durations, times and signals as the engine's flags and records
 * spell them.  Errors name `what` (the flag or field). */
#ifndef ISOLA_ENGINE_BASE_PARSE_H
#define ISOLA_ENGINE_BASE_PARSE_H

#include <stdint.h>

#include "common/err.h"

/* "512m", "1.5g", "4096" (bytes) */
int parse_size(const char *s, const char *what, int64_t *out, err_t *err);
/* "30s", "1m30s", "500ms", "2h"; a bare number is seconds */
int parse_duration(const char *s, const char *what, int64_t *ns, err_t *err);

/* --since/--until: RFC 3339, a Unix time, or a duration back from now
 * ("10m"); seconds since the epoch. */
int parse_time(const char *s, const char *flag, double *out, err_t *err);

/* A signal by name (TERM, SIGTERM, RTMIN+3) or number. */
int parse_signal(const char *s, int *sig, err_t *err);

#endif

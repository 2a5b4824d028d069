/* Process-wide logging.  Commands configure it once from their flags
 * (`--log FILE`, `--log-format text|json`, `--debug`); library code only
 * calls log_msg() and friends.
 *
 * The JSON format is one object per line, {"level","msg","time"}, the shape
 * runc writes and containerd reads back from the last line on failure. */
#ifndef ISOLA_COMMON_LOG_H
#define ISOLA_COMMON_LOG_H

#include <stdarg.h>

#include "common/err.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Parse "text"/"json" and "error"/"warn"/"info"/"debug". */
int log_parse_format(const char *s, enum log_format *out, err_t *err);
int log_parse_level(const char *s, enum log_level *out, err_t *err);

/* Send records to `path` (appended, created 0600), or to stderr when path is
 * NULL; `prog` prefixes text records.  May be called again to reconfigure. */
int log_open(const char *prog, const char *path, enum log_format fmt, err_t *err);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_close(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_msgv(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Log an error object at error level. */
void log_err(const err_t e);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif

#include "common/log.h"

#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static struct {
  int fd; /* -1: stderr */
  enum log_format format;
  enum log_level level;
  char prog[64];
} state = {-1, LOG_FORMAT_TEXT, LOG_LEVEL_WARN, "isola"};

int log_parse_format(const char *s, enum log_format *out, err_t *err)
{
  if (!strcmp(s, "text"))
    *out = LOG_FORMAT_TEXT;
  else if (!strcmp(s, "json"))
    *out = LOG_FORMAT_JSON;
  else
    return err_make(err, EINVAL, "unknown log format `%s`: use `text` or `json`", s);
  return 0;
}

int log_parse_level(const char *s, enum log_level *out, err_t *err)
{
  static const char *const alias[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, alias[i]) || !strcmp(s, level_names[i])) {
      *out = (enum log_level)i;
      return 0;
    }
  return err_make(err, EINVAL, "unknown log level `%s`: use error, warn, info or debug", s);
}

int log_open(const char *prog, const char *path, enum log_format fmt, err_t *err)
{
  int fd = -1;
  if (path) {
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return err_sys(err, "cannot open log file `%s`", path);
  }
  log_close();
  state.fd = fd;
  state.format = fmt;
  if (prog)
    snprintf(state.prog, sizeof(state.prog), "%s", prog);
  return 0;
}

void log_set_level(enum log_level level)
{
  state.level = level;
}

enum log_level log_get_level(void)
{
  return state.level;
}

void log_close(void)
{
  if (state.fd >= 0)
    close(state.fd);
  state.fd = -1;
}

/* One write() per record so concurrent writers to the same file interleave
 * whole lines only. */
static void emit(const char *line, size_t len)
{
  int fd = state.fd >= 0 ? state.fd : STDERR_FILENO;
  while (len > 0) {
    ssize_t w = write(fd, line, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    line += w;
    len -= (size_t)w;
  }
}

void log_msgv(enum log_level level, const char *fmt, va_list ap)
{
  if (level > state.level)
    return;
  int saved = errno;
  char *msg = NULL, *line = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    goto out;
  char ts[CLOCK_RFC3339_LEN];
  clock_rfc3339(ts, sizeof(ts));
  int n;
  if (state.format == LOG_FORMAT_JSON) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg, "time", ts);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    n = s ? asprintf(&line, "%s\n", s) : -1;
    free(s);
  } else if (state.fd >= 0) {
    n = asprintf(&line, "%s %s[%d] %s: %s\n", ts, state.prog, (int)getpid(), level_names[level], msg);
  } else {
    n = asprintf(&line, "%s: %s%s%s\n", state.prog, level == LOG_LEVEL_ERROR ? "" : level_names[level],
                 level == LOG_LEVEL_ERROR ? "" : ": ", msg);
  }
  if (n > 0)
    emit(line, (size_t)n);
out:
  free(line);
  free(msg);
  errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_msgv(level, fmt, ap);
  va_end(ap);
}

void log_err(const err_t e)
{
  log_msg(LOG_LEVEL_ERROR, "%s", e ? err_msg(e) : "unknown error");
}

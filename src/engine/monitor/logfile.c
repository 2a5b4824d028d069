/* json-file logs: the monitor's writer (logfile.h). */
#include "engine/monitor/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "engine/monitor/logread.h"

int logw_open(struct logw *w, const char *path, uint64_t max_size, int max_file, err_t *err)
{
  memset(w, 0, sizeof *w);
  w->path = strdup(path);
  w->max_size = max_size;
  w->max_file = max_file < 1 ? 1 : max_file;
  w->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (w->fd < 0) {
    free(w->path);
    return err_sys(err, "cannot open the log `%s`", path);
  }
  struct stat st;
  w->size = fstat(w->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
  return 0;
}

static void rotate(struct logw *w)
{
  char from[4096], to[4096];
  if (w->max_file <= 1) {
    /* one file: a new one in its place (not a truncation, which would take
     * records from under a follower that has not read them yet) */
    unlink(w->path);
  }
  for (int i = w->max_file - 1; i >= 1; i--) {
    if (i == 1)
      snprintf(from, sizeof from, "%s", w->path);
    else
      snprintf(from, sizeof from, "%s.%d", w->path, i - 1);
    snprintf(to, sizeof to, "%s.%d", w->path, i);
    rename(from, to);
  }
  close(w->fd);
  w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  w->size = 0;
}

static void record(struct logw *w, int stream, const char *text, size_t len, bool partial)
{
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_t *j = json_pack("{ss# ss ss}", "log", text, (int)len, "stream", stream ? "stderr" : "stdout", "time", now);
  if (partial)
    json_object_set_new(j, "partial", json_true());
  char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!line || w->fd < 0) {
    free(line);
    return;
  }
  size_t n = strlen(line);
  if (w->max_size && w->size + n + 1 > w->max_size && w->size > 0)
    rotate(w);
  line[n] = '\n';
  if (write(w->fd, line, n + 1) == (ssize_t)(n + 1))
    w->size += n + 1;
  free(line);
}

void logw_write(struct logw *w, int stream, const char *data, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    w->buf[stream][w->len[stream]++] = data[i];
    if (data[i] == '\n') {
      record(w, stream, w->buf[stream], w->len[stream], false);
      w->len[stream] = 0;
    } else if (w->len[stream] == LOG_LINE_MAX) {
      record(w, stream, w->buf[stream], w->len[stream], true);
      w->len[stream] = 0;
    }
  }
}

void logw_flush(struct logw *w)
{
  for (int s = 0; s < 2; s++)
    if (w->len[s]) {
      record(w, s, w->buf[s], w->len[s], true);
      w->len[s] = 0;
    }
}

void logw_close(struct logw *w)
{
  logw_flush(w);
  if (w->fd >= 0)
    close(w->fd);
  free(w->path);
  w->fd = -1;
  w->path = NULL;
}

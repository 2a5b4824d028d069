/* json-file logs: the monitor's writer and `isola logs` (logs.h). */
#include "engine/logs.h"

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
#include "engine/ctr.h"
#include "engine/engine.h"
#include "engine/runopts.h"

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
    /* one file: start it again */
    if (ftruncate(w->fd, 0) == 0)
      w->size = 0;
    return;
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

struct reader {
  double since, until;
  bool timestamps;
};

static void emit(const struct reader *r, const char *line)
{
  json_t *j = json_loads(line, 0, NULL);
  const char *text = json_string_value(json_object_get(j, "log"));
  const char *stream = json_string_value(json_object_get(j, "stream"));
  const char *t = json_string_value(json_object_get(j, "time"));
  if (text && t) {
    double secs = clock_parse_rfc3339(t);
    if ((r->since <= 0 || secs >= r->since) && (r->until <= 0 || secs < r->until)) {
      FILE *out = stream && !strcmp(stream, "stderr") ? stderr : stdout;
      size_t len = json_string_length(json_object_get(j, "log"));
      if (r->timestamps)
        fprintf(out, "%s ", t);
      fwrite(text, 1, len, out);
      fflush(out);
    }
  }
  json_decref(j);
}

/* Lines of the file from `*off`; keeps a trailing partial line for later. */
static void read_lines(const struct reader *r, const char *path, off_t *off, char ***tail, size_t *ntail,
                       size_t keep)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  if (lseek(fd, *off, SEEK_SET) < 0)
    return;
  _cleanup_fclose_ FILE *f = fdopen(fd, "r");
  if (!f)
    return;
  fd = -1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n')
      break; /* still being written */
    *off += n;
    if (tail) {
      /* --tail: keep the last `keep` lines */
      if (*ntail == keep && keep) {
        free((*tail)[0]);
        memmove(*tail, *tail + 1, (keep - 1) * sizeof **tail);
        (*ntail)--;
      }
      if (keep)
        (*tail)[(*ntail)++] = strdup(line);
    } else {
      emit(r, line);
    }
  }
  free(line);
}

int cmd_logs(int argc, char **argv)
{
  static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},   {"since", required_argument, NULL, 's'},
                                       {"until", required_argument, NULL, 'u'}, {"tail", required_argument, NULL, 'n'},
                                       {"timestamps", no_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
  struct reader r = {0};
  bool follow = false;
  long tail = -1;
  _cleanup_err_ err_t err = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+fn:t", opts, NULL)) != -1) {
    switch (c) {
    case 'f': follow = true; break;
    case 't': r.timestamps = true; break;
    case 's':
    case 'u':
      if (parse_time(optarg, c == 's' ? "--since" : "--until", c == 's' ? &r.since : &r.until, &err) < 0) {
        log_err(err);
        return EXIT_ENGINE;
      }
      break;
    case 'n':
      tail = !strcmp(optarg, "all") ? -1 : strtol(optarg, NULL, 10);
      break;
    default: fprintf(stderr, "Usage: isola logs [-f] [--since T] [--until T] [--tail N] [-t] CONTAINER\n"); return EXIT_ENGINE;
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "Usage: isola logs [-f] [--since T] [--until T] [--tail N] [-t] CONTAINER\n");
    return EXIT_ENGINE;
  }
  struct ctr ct;
  if (ctr_open(argv[optind], &ct, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  _cleanup_free_ char *path = path_join(ct.dir, "ctr.log");
  char **lines = NULL;
  size_t nlines = 0;
  if (tail >= 0)
    lines = calloc((size_t)tail + 1, sizeof *lines);
  /* rotated files first, oldest first */
  for (int i = 32; i >= 1; i--) {
    char old[4096];
    snprintf(old, sizeof old, "%s.%d", path, i);
    off_t off = 0;
    if (access(old, F_OK) == 0)
      read_lines(&r, old, &off, lines ? &lines : NULL, &nlines, (size_t)(tail > 0 ? tail : 0));
  }
  off_t off = 0;
  read_lines(&r, path, &off, lines ? &lines : NULL, &nlines, (size_t)(tail > 0 ? tail : 0));
  for (size_t i = 0; i < nlines; i++) {
    emit(&r, lines[i]);
    free(lines[i]);
  }
  free(lines);
  struct stat st0;
  ino_t ino = stat(path, &st0) == 0 ? st0.st_ino : 0;
  while (follow) {
    bool running = ctr_reload_state(&ct, NULL) == 0 && ctr_monitor_pid(&ct) != 0;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_ino != ino) {
      /* rotated: finish the old file (now .1), then the new one */
      char old[4096];
      snprintf(old, sizeof old, "%s.1", path);
      read_lines(&r, old, &off, NULL, NULL, 0);
      ino = st.st_ino;
      off = 0;
    }
    read_lines(&r, path, &off, NULL, NULL, 0);
    if (!running)
      break;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  ctr_close(&ct);
  return 0;
}

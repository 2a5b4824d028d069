/* json-file logs: the monitor's writer and `isola logs` (logs.h). */
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
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "engine/monitor/logread.h"
#include "engine/cli/runopts.h"

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

struct filter {
  double since, until;
  bool timestamps;
};

static void emit(const struct filter *r, const char *line, size_t n)
{
  json_t *j = json_loadb(line, n, 0, NULL);
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

static void emit_line(const char *line, size_t n, void *ctx)
{
  emit(ctx, line, n);
}

/* --tail N: the last N records, kept until the whole log is read. */
struct tail {
  char **lines;
  size_t *lens;
  size_t keep, n;
};

static void tail_line(const char *line, size_t n, void *ctx)
{
  struct tail *t = ctx;
  if (!t->keep)
    return;
  if (t->n == t->keep) {
    free(t->lines[0]);
    memmove(t->lines, t->lines + 1, (t->keep - 1) * sizeof *t->lines);
    memmove(t->lens, t->lens + 1, (t->keep - 1) * sizeof *t->lens);
    t->n--;
  }
  t->lines[t->n] = malloc(n);
  if (!t->lines[t->n])
    return;
  memcpy(t->lines[t->n], line, n);
  t->lens[t->n++] = n;
}

static bool monitor_alive(void *ctx)
{
  struct ctr *ct = ctx;
  return ctr_reload_state(ct, NULL) == 0 && ctr_monitor_pid(ct) != 0;
}

static int max_file_of(const struct ctr *ct)
{
  json_t *lc = json_object_get(json_object_get(json_object_get(ct->rec, "HostConfig"), "LogConfig"), "Config");
  const char *mf = json_string_value(json_object_get(lc, "max-file"));
  return mf ? atoi(mf) : 1;
}

#define LOGS_USAGE "Usage: isola logs [-f] [--since T] [--until T] [--tail N] [-t] CONTAINER\n"

int cmd_logs(int argc, char **argv)
{
  static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},   {"since", required_argument, NULL, 's'},
                                       {"until", required_argument, NULL, 'u'}, {"tail", required_argument, NULL, 'n'},
                                       {"timestamps", no_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
  struct filter r = {0};
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
    case 'n': {
      char *end;
      tail = !strcmp(optarg, "all") ? -1 : strtol(optarg, &end, 10);
      if (strcmp(optarg, "all") && (end == optarg || *end || tail < 0)) {
        fprintf(stderr, "isola logs: --tail %s: use a number of lines or `all`\n", optarg);
        return EXIT_ENGINE;
      }
      break;
    }
    default: fprintf(stderr, LOGS_USAGE); return EXIT_ENGINE;
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, LOGS_USAGE);
    return EXIT_ENGINE;
  }
  struct ctr ct;
  if (ctr_open(argv[optind], &ct, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  _cleanup_free_ char *path = path_join(ct.dir, "ctr.log");
  struct logread lr;
  int rc = logread_open(&lr, path, max_file_of(&ct), follow, &err);
  if (rc == 0 && tail >= 0) {
    struct tail t = {.keep = (size_t)tail};
    t.lines = calloc((size_t)tail + 1, sizeof *t.lines);
    t.lens = calloc((size_t)tail + 1, sizeof *t.lens);
    if (t.lines && t.lens)
      rc = logread_all(&lr, tail_line, &t, follow ? monitor_alive : NULL, &ct, &err);
    for (size_t i = 0; i < t.n; i++) {
      emit(&r, t.lines[i], t.lens[i]);
      free(t.lines[i]);
    }
    free(t.lines);
    free(t.lens);
  } else if (rc == 0) {
    rc = logread_all(&lr, emit_line, &r, follow ? monitor_alive : NULL, &ct, &err);
  }
  if (rc == 0 && follow)
    rc = logread_follow(&lr, emit_line, &r, monitor_alive, &ct, &err);
  logread_close(&lr);
  ctr_close(&ct);
  if (rc < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  return 0;
}

/* isola logs: a container's json-file log (monitor/logread.h), filtered by
 * time, from the start or the tail, following while the container runs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "engine/base/parse.h"
#include "engine/cli/commands.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "engine/monitor/logread.h"

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

#define LOGS_USAGE "Usage: isola logs [-f] [--since T] [--until T] [--tail N] [-t] CONTAINER\n"

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

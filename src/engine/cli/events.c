/* isola events: the engine's event log (ROOT/events.jsonl, written by
 * engine_event), filtered by time and --filter, optionally followed. */
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
#include "common/json.h"
#include "common/log.h"
#include "engine/base/parse.h"
#include "engine/cli/commands.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"

static bool matches(json_t *ev, json_t *filters)
{
  size_t i;
  json_t *f;
  json_array_foreach(filters, i, f)
  {
    const char *s = json_string_value(f);
    const char *eq = strchr(s, '=');
    if (!eq)
      continue;
    size_t kl = (size_t)(eq - s);
    const char *v = eq + 1;
    const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
    const char *name = json_string_value(
        json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"), "name"));
    if (!strncmp(s, "type", kl) && strcmp(v, json_string_value(json_object_get(ev, "Type"))))
      return false;
    if (!strncmp(s, "event", kl) && strcmp(v, json_string_value(json_object_get(ev, "Action"))))
      return false;
    if (!strncmp(s, "container", kl) && !(name && !strcmp(v, name)) && !(id && !strncmp(id, v, strlen(v))))
      return false;
  }
  return true;
}

static void print_event(json_t *ev, bool json)
{
  if (json) {
    char *s = json_dumps(ev, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
  } else {
    json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
    printf("%s %s %s %s", json_string_value(json_object_get(ev, "time")),
           json_string_value(json_object_get(ev, "Type")), json_string_value(json_object_get(ev, "Action")),
           json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID")));
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(attrs, k, v)
    {
      printf("%s%s=%s", n++ ? ", " : " (", k, json_string_value(v));
    }
    printf("%s\n", n ? ")" : "");
  }
  fflush(stdout);
}

int cmd_events(int argc, char **argv)
{
  static const struct option opts[] = {{"since", required_argument, NULL, 's'},  {"until", required_argument, NULL, 'u'},
                                       {"filter", required_argument, NULL, 'f'}, {"format", required_argument, NULL, 'F'},
                                       {"stream", optional_argument, NULL, 'S'}, {"no-stream", no_argument, NULL, 'N'},
                                       {NULL, 0, NULL, 0}};
  double since = -1, until = -1;
  bool json = false, stream = true;
  _cleanup_err_ err_t err = NULL;
  json_t *filters = json_array();
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
    switch (c) {
    case 's':
    case 'u':
      if (parse_time(optarg, c == 's' ? "--since" : "--until", c == 's' ? &since : &until, &err) < 0) {
        json_decref(filters);
        log_err(err);
        return EXIT_ENGINE;
      }
      break;
    case 'f': json_array_append_new(filters, json_string(optarg)); break;
    case 'F': json = !strcmp(optarg, "json") || !strcmp(optarg, "{{json .}}"); break;
    case 'S': stream = !optarg || !strcmp(optarg, "true"); break;
    case 'N': stream = false; break;
    default:
      json_decref(filters);
      fprintf(stderr, "Usage: isola events [--since T] [--until T] [--filter K=V] [--format json] [--stream=false]\n");
      return EXIT_ENGINE;
    }
  }
  if (until >= 0)
    stream = false;
  _cleanup_free_ char *path = engine_path("events.log");
  off_t off = 0;
  /* without --since, a stream shows what happens from now on (Docker) */
  if (since < 0 && stream) {
    struct stat st;
    if (stat(path, &st) == 0)
      off = st.st_size;
  }
  for (;;) {
    FILE *f = fopen(path, "re");
    if (f && fseeko(f, off, SEEK_SET) == 0) {
      char *line = NULL;
      size_t cap = 0;
      ssize_t n;
      while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        off += n;
        json_t *ev = json_loads(line, 0, NULL);
        double t = clock_parse_rfc3339(json_string_value(json_object_get(ev, "time")));
        if (ev && (since < 0 || t >= since) && (until < 0 || t <= until) && matches(ev, filters))
          print_event(ev, json);
        json_decref(ev);
      }
      free(line);
    }
    if (f)
      fclose(f);
    if (!stream)
      break;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  json_decref(filters);
  return 0;
}

/* ps, list, pause, resume, events: looking at and freezing containers. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/globals.h"
#include "runtime/container/container.h"

static int parse_format(int argc, char **argv, const char **format, bool *quiet)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "+f:q", opts, NULL)) != -1) {
    if (c == 'f')
      *format = optarg;
    else if (c == 'q' && quiet)
      *quiet = true;
    else
      return -1;
  }
  if (strcmp(*format, "table") && strcmp(*format, "json")) {
    log_error("--format `%s`: use `table` or `json`", *format);
    return -1;
  }
  return 0;
}

int cmd_ps(int argc, char **argv)
{
  const char *format = "table";
  if (parse_format(argc, argv, &format, NULL) < 0)
    return 1;
  if (optind >= argc) {
    log_error("usage: ps [--format table|json] ID [ps options]");
    return 1;
  }
  err_t err = NULL;
  pid_t *pids = NULL;
  size_t n = 0;
  if (container_pids(runtime_globals.root, argv[optind], &pids, &n, &err) < 0)
    return cli_fail(&err);
  if (!strcmp(format, "json")) {
    printf("[");
    for (size_t i = 0; i < n; i++)
      printf("%s%d", i ? "," : "", (int)pids[i]);
    printf("]\n");
    free(pids);
    return 0;
  }
  /* table: the host's ps(1) with the given options, keeping the header and
   * the container's lines, as runc does. */
  char cmd[4096] = "ps";
  size_t len = 2;
  for (int i = optind + 1; i < argc && len < sizeof(cmd) - 64; i++)
    len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " '%s'", argv[i]);
  if (optind + 1 >= argc)
    snprintf(cmd + len, sizeof(cmd) - len, " -ef");
  FILE *p = popen(cmd, "r");
  if (!p) {
    free(pids);
    log_error("cannot run ps");
    return 1;
  }
  char line[4096];
  int pid_col = -1;
  for (int ln = 0; fgets(line, sizeof(line), p); ln++) {
    char copy[4096];
    strcpy(copy, line);
    char *save = NULL;
    int col = 0;
    if (ln == 0) {
      for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
        if (!strcmp(t, "PID"))
          pid_col = col;
      fputs(line, stdout);
      continue;
    }
    for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
      if (col == pid_col)
        for (size_t i = 0; i < n; i++)
          if (atoi(t) == pids[i])
            fputs(line, stdout);
  }
  pclose(p);
  free(pids);
  return 0;
}

int cmd_list(int argc, char **argv)
{
  const char *format = "table";
  bool quiet = false;
  if (parse_format(argc, argv, &format, &quiet) < 0)
    return 1;
  err_t err = NULL;
  json_t *all = NULL;
  if (container_list(runtime_globals.root, &all, &err) < 0)
    return cli_fail(&err);
  size_t i;
  json_t *c;
  if (!strcmp(format, "json")) {
    char *s = json_dumps(all, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
  } else {
    if (!quiet)
      printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    json_array_foreach(all, i, c)
    {
      const char *id = json_string_value(json_object_get(c, "id"));
      if (quiet)
        printf("%s\n", id);
      else
        printf("%-20s %-8lld %-10s %-40s %-32s %lld\n", id,
               json_integer_value(json_object_get(c, "pid")),
               json_string_value(json_object_get(c, "status")),
               json_string_value(json_object_get(c, "bundle")),
               json_string_value(json_object_get(c, "created")),
               json_integer_value(json_object_get(c, "owner")));
    }
  }
  json_decref(all);
  return 0;
}

static int pause_resume(int argc, char **argv, bool pause)
{
  err_t err = NULL;
  const char *id = cli_one_id(argc, argv, 1, argv[0]);
  if (!id)
    return 1;
  return container_pause(runtime_globals.root, id, pause, &err) < 0 ? cli_fail(&err) : 0;
}

int cmd_pause(int argc, char **argv)
{
  return pause_resume(argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
  return pause_resume(argc, argv, false);
}

int cmd_events(int argc, char **argv)
{
  static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
                                       {"interval", required_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
  bool once = false;
  int interval = 5, c;
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
    if (c == 's')
      once = true;
    else if (c == 'i')
      interval = atoi(optarg) > 0 ? atoi(optarg) : 1; /* "5s" reads as 5 */
    else
      return 1;
  }
  const char *id = cli_one_id(argc, argv, optind, "events");
  if (!id)
    return 1;
  err_t err = NULL;
  long ooms = -1;
  for (;;) {
    json_t *data = NULL;
    if (container_stats(runtime_globals.root, id, &data, &err) < 0)
      return once ? cli_fail(&err) : (err_free(&err), 0);
    long now = (long)json_integer_value(json_object_get(json_object_get(data, "memory"), "oom_kills"));
    if (!once && ooms >= 0 && now > ooms)
      printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
    ooms = now;
    json_t *ev = json_pack("{s:s,s:s,s:o}", "type", "stats", "id", id, "data", data);
    char *s = json_dumps(ev, JSON_COMPACT);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(ev);
    if (once)
      return 0;
    sleep((unsigned)interval);
  }
}

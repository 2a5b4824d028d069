/* isola stop, kill, restart, rm, wait: flags over lifecycle/lifecycle.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "engine/container/remove.h"
#include "engine/engine.h"
#include "engine/lifecycle/lifecycle.h"
#include "engine/monitor/restart.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

/* -t/--time SECONDS of stop and restart; -1 when not given, -2 on misuse. */
static long timeout_flag(int argc, char **argv, const char *usage)
{
  static const struct option opts[] = {{"time", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
  long timeout = -1;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
    if (c != 't')
      break;
    timeout = strtol(optarg, NULL, 10);
  }
  if (c != -1 || optind >= argc) {
    fputs(usage, stderr);
    return -2;
  }
  return timeout;
}

/* stop and restart: `one` on each container named after the flags,
 * printing the names that went through. */
static int each_with_timeout(int argc, char **argv, const char *usage,
                             int (*one)(struct ctr *, long, err_t *))
{
  long timeout = timeout_flag(argc, argv, usage);
  if (timeout == -2)
    return EXIT_ENGINE;
  int status = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_err_ err_t err = NULL;
    struct ctr ct;
    if (ctr_open(argv[i], &ct, &err) < 0 || one(&ct, timeout, &err) < 0) {
      log_err(err);
      status = EXIT_ENGINE;
    } else {
      printf("%s\n", argv[i]);
    }
    ctr_close(&ct);
  }
  return status;
}

int cmd_stop(int argc, char **argv)
{
  return each_with_timeout(argc, argv, "Usage: isola stop [-t SECONDS] CONTAINER...\n", lifecycle_stop);
}

int cmd_kill(int argc, char **argv)
{
  static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
  int sig = SIGKILL, c;
  _cleanup_err_ err_t err = NULL;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
    if (c != 's') {
      fprintf(stderr, "Usage: isola kill [-s SIGNAL] CONTAINER...\n");
      return EXIT_ENGINE;
    }
    if (parse_signal(optarg, &sig, &err) < 0)
      return fail(&err);
  }
  if (optind >= argc) {
    fprintf(stderr, "Usage: isola kill [-s SIGNAL] CONTAINER...\n");
    return EXIT_ENGINE;
  }
  int status = 0;
  for (int i = optind; i < argc; i++) {
    struct ctr ct;
    if (ctr_open(argv[i], &ct, &err) < 0) {
      log_err(err);
      err_free(&err);
      status = EXIT_ENGINE;
      continue;
    }
    if (!ctr_is_running(&ct)) {
      log_error("container %s is not running", argv[i]);
      status = EXIT_ENGINE;
    } else {
      if (sig == SIGKILL || sig == SIGTERM)
        monitor_mark_stopped(&ct, true);
      bool orphan = !ctr_monitor_pid(&ct);
      if (lifecycle_signal(&ct, sig, false, &err) < 0) {
        log_err(err);
        err_free(&err);
        status = EXIT_ENGINE;
      } else {
        if (orphan && sig == SIGKILL && lifecycle_wait_gone(&ct, 10))
          ctr_cleanup_dead(&ct, NULL);
        char s[16];
        snprintf(s, sizeof s, "%d", sig);
        engine_event("container", "kill", ct.id, json_pack("{ss ss}", "name", ctr_name(&ct), "signal", s));
        printf("%s\n", argv[i]);
      }
    }
    ctr_close(&ct);
  }
  return status;
}

int cmd_restart(int argc, char **argv)
{
  return each_with_timeout(argc, argv, "Usage: isola restart [-t SECONDS] CONTAINER...\n", lifecycle_restart);
}

int cmd_rm(int argc, char **argv)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {"volumes", no_argument, NULL, 'v'},
                                       {"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
  bool force = false, volumes = false, all = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+fva", opts, NULL)) != -1) {
    if (c == 'f')
      force = true;
    else if (c == 'v')
      volumes = true;
    else if (c == 'a')
      all = true;
    else {
      fprintf(stderr, "Usage: isola rm [-f] [-v] [-a] CONTAINER...\n");
      return EXIT_ENGINE;
    }
  }
  char **ids = NULL;
  size_t n = 0;
  _cleanup_err_ err_t err = NULL;
  if (all && ctr_list(&ids, &n, &err) < 0)
    return fail(&err);
  if (optind >= argc && !all) {
    fprintf(stderr, "Usage: isola rm [-f] [-v] [-a] CONTAINER...\n");
    return EXIT_ENGINE;
  }
  int status = 0;
  size_t total = all ? n : (size_t)(argc - optind);
  for (size_t i = 0; i < total; i++) {
    const char *what = all ? ids[i] : argv[optind + (int)i];
    struct ctr ct;
    if (ctr_open(what, &ct, &err) < 0) {
      log_err(err);
      err_free(&err);
      status = EXIT_ENGINE;
      continue;
    }
    int r = lifecycle_remove(&ct, what, force, volumes, &err);
    if (r < 0) {
      log_err(err);
      err_free(&err);
      status = EXIT_ENGINE;
    } else {
      engine_event("container", "destroy", ct.id, json_pack("{ss}", "name", ctr_name(&ct)));
      printf("%s\n", what);
    }
    ctr_close(&ct);
  }
  cleanup_strvp(&ids);
  return status;
}

/* The exit code of a container removed while we waited: its last event. */
static int code_from_events(const char *id)
{
  _cleanup_free_ char *p = engine_path("events.log");
  _cleanup_fclose_ FILE *f = fopen(p, "re");
  char *line = NULL;
  size_t cap = 0;
  int code = -1;
  while (f && getline(&line, &cap, f) > 0) {
    if (!strstr(line, id) || !strstr(line, "\"die\""))
      continue;
    json_t *j = json_loads(line, 0, NULL);
    const char *c = json_string_value(
        json_object_get(json_object_get(json_object_get(j, "Actor"), "Attributes"), "exitCode"));
    if (c)
      code = atoi(c);
    json_decref(j);
  }
  free(line);
  return code;
}

int cmd_wait(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "Usage: isola wait CONTAINER...\n");
    return EXIT_ENGINE;
  }
  int status = 0;
  for (int i = 1; i < argc; i++) {
    _cleanup_err_ err_t err = NULL;
    struct ctr ct;
    if (ctr_open(argv[i], &ct, &err) < 0) {
      log_err(err);
      status = EXIT_ENGINE;
      continue;
    }
    char id[CTR_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", ct.id);
    for (;;) {
      if (ctr_reload_state(&ct, NULL) < 0) {
        /* removed (--rm) */
        printf("%d\n", code_from_events(id));
        break;
      }
      const char *s = ctr_status(&ct);
      if (!strcmp(s, "exited") || !strcmp(s, "created")) {
        printf("%lld\n", (long long)json_integer_value(json_object_get(ct.state, "ExitCode")));
        break;
      }
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    fflush(stdout);
    ctr_close(&ct);
  }
  return status;
}

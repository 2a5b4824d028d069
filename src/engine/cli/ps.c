/* isola ps, container inspect, top and stats. */
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
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
#include "engine/cli/commands.h"
#include "engine/container/ctr.h"
#include "engine/container/ports.h"
#include "engine/engine.h"
#include "sys/pathsafe.h"

/* Seconds since the epoch of a record's time (0 when absent). */
static double unix_time(const char *s)
{
  double t = clock_parse_rfc3339(s);
  return t < 0 ? 0 : t;
}

static double now_unix(void)
{
  return (double)time(NULL);
}

static void status_text(struct ctr *c, const char *st, char *out, size_t n)
{
  char d[64];
  if (!strcmp(st, "running") || !strcmp(st, "restarting")) {
    human_duration(now_unix() - unix_time(json_string_value(json_object_get(c->state, "StartedAt"))), d,
                   sizeof d);
    const char *h = json_string_value(json_object_get(json_object_get(c->state, "Health"), "Status"));
    if (!strcmp(st, "restarting"))
      snprintf(out, n, "Restarting (%lld)", (long long)json_integer_value(json_object_get(c->state, "ExitCode")));
    else
      snprintf(out, n, "Up %s%s%s%s", d, h ? " (" : "", h ? h : "", h ? ")" : "");
  } else if (!strcmp(st, "exited")) {
    human_duration(now_unix() - unix_time(json_string_value(json_object_get(c->state, "FinishedAt"))), d,
                   sizeof d);
    snprintf(out, n, "Exited (%lld) %s ago", (long long)json_integer_value(json_object_get(c->state, "ExitCode")), d);
  } else {
    snprintf(out, n, "Created");
  }
}

static const char *command_text(const json_t *rec, char *buf, size_t n)
{
  size_t at = 0;
  buf[0] = 0;
  const char *path = json_string_value(json_object_get(rec, "Path"));
  if (path)
    at += (size_t)snprintf(buf, n, "%s", path);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(rec, "Args"), i, a)
  {
    if (at < n)
      at += (size_t)snprintf(buf + at, n - at, " %s", json_string_value(a));
  }
  return buf;
}

int cmd_ps(int argc, char **argv)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'},
                                       {"format", required_argument, NULL, 'f'}, {"no-trunc", no_argument, NULL, 'T'},
                                       {"latest", no_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
  bool all = false, quiet = false, json = false, notrunc = false, latest = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+aqlf:", opts, NULL)) != -1) {
    switch (c) {
    case 'a': all = true; break;
    case 'q': quiet = true; break;
    case 'l': latest = true; all = true; break;
    case 'T': notrunc = true; break;
    case 'f':
      if (strcmp(optarg, "json") && strcmp(optarg, "{{json .}}")) {
        log_error("--format %s: only `json` is understood", optarg);
        return EXIT_ENGINE;
      }
      json = true;
      break;
    default: fprintf(stderr, "Usage: isola ps [-a] [-q] [-l] [--no-trunc] [--format json]\n"); return EXIT_ENGINE;
    }
  }
  char **ids;
  size_t n;
  _cleanup_err_ err_t err = NULL;
  if (ctr_list(&ids, &n, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  json_t *out = json_array();
  if (!quiet && !json)
    printf("%-12s  %-28s  %-24s  %-14s  %-28s  %-8s  %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
           "PORTS", "NAMES");
  /* newest first, as Docker lists */
  for (size_t k = n; k-- > 0;) {
    struct ctr ct;
    if (ctr_open_id(ids[k], &ct, NULL) < 0)
      continue;
    const char *st = ctr_status(&ct);
    bool running = !strcmp(st, "running") || !strcmp(st, "restarting");
    if (!all && !running) {
      ctr_close(&ct);
      continue;
    }
    char status[96], cmd[512], created[64];
    status_text(&ct, st, status, sizeof status);
    command_text(ct.rec, cmd, sizeof cmd);
    double cr = unix_time(json_string_value(json_object_get(ct.rec, "Created")));
    human_duration(now_unix() - cr, created, sizeof created);
    const char *image = json_string_value(json_object_get(json_object_get(ct.rec, "Config"), "Image"));
    if (quiet) {
      printf("%.*s\n", notrunc ? CTR_ID_LEN : 12, ct.id);
    } else if (json) {
      json_t *command = json_array();
      if (json_string_length(json_object_get(ct.rec, "Path")))
        json_array_append(command, json_object_get(ct.rec, "Path"));
      json_array_extend(command, json_object_get(ct.rec, "Args"));
      json_t *health = json_object_get(json_object_get(ct.state, "Health"), "Status");
      json_array_append_new(
          out, json_pack("{ss s[s] ss sO so sI ss ss ss sI sb sO sO sO sO s[] sO so}", "Id", ct.id, "Names",
                         ctr_name(&ct), "Image", image ? image : "", "ImageID", json_object_get(ct.rec, "ImageID"),
                         "Command", command, "Created", (json_int_t)cr, "CreatedAt",
                         json_string_value(json_object_get(ct.rec, "Created")), "State", st, "Status", status,
                         "ExitCode", json_integer_value(json_object_get(ct.state, "ExitCode")), "Exited",
                         !strcmp(st, "exited"), "Pid", json_object_get(ct.state, "Pid"), "StartedAt",
                         json_object_get(ct.state, "StartedAt") ? json_object_get(ct.state, "StartedAt") : json_null(),
                         "ExitedAt",
                         json_object_get(ct.state, "FinishedAt") ? json_object_get(ct.state, "FinishedAt")
                                                                 : json_null(),
                         "Labels", json_object_get(json_object_get(ct.rec, "Config"), "Labels"), "Ports",
                         "Restarts", json_object_get(ct.state, "RestartCount"), "Health",
                         health ? json_incref(health) : json_string("")));
    } else {
      char shortcmd[32];
      snprintf(shortcmd, sizeof shortcmd, "\"%.*s%s\"", 20, cmd, strlen(cmd) > 20 ? "…" : "");
      char ports[256];
      ports_summary(json_object_get(json_object_get(ct.rec, "HostConfig"), "PortBindings"), ports, sizeof ports);
      printf("%-12.12s  %-28.28s  %-24s  %-14s  %-28s  %-8s  %s\n", ct.id, image ? image : "", notrunc ? cmd : shortcmd,
             strcat(created, " ago"), status, ports, ctr_name(&ct));
    }
    ctr_close(&ct);
    if (latest)
      break;
  }
  if (json) {
    char *s = json_dumps(out, JSON_INDENT(4));
    printf("%s\n", s);
    free(s);
  }
  json_decref(out);
  cleanup_strvp(&ids);
  return 0;
}

/* Processes of a running container: its cgroup's, through the runtime. */
static int container_pids(struct ctr *c, json_t **pids, err_t *err)
{
  const char *args[] = {"ps", "--format", "json", c->id, NULL};
  char *out = NULL;
  int r = ctr_runtime(args, &out, err);
  if (r != 0) {
    err_make(err, EIO, "cannot list the processes of %s: %s", ctr_name(c), out ? out : "");
    free(out);
    return -1;
  }
  *pids = json_loads(out, 0, NULL);
  free(out);
  if (!json_is_array(*pids)) {
    json_decref(*pids);
    return err_make(err, EIO, "the runtime's process list is not a JSON array");
  }
  return 0;
}

static int read_small(const char *path, char *buf, size_t n)
{
  FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  size_t got = fread(buf, 1, n - 1, f);
  fclose(f);
  buf[got] = 0;
  return (int)got;
}

/* The name of `uid` in the container's /etc/passwd (as Podman shows it),
 * else the number. */
static void user_name(int rootfd, unsigned uid, char *out, size_t n)
{
  snprintf(out, n, "%u", uid);
  int fd = rootfd >= 0 ? root_open(rootfd, "/etc/passwd", O_RDONLY | O_CLOEXEC, NULL) : -1;
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!f) {
    if (fd >= 0)
      close(fd);
    return;
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char name[256];
    unsigned u;
    if (sscanf(line, "%255[^:]:%*[^:]:%u:", name, &u) == 2 && u == uid) {
      snprintf(out, n, "%s", name);
      break;
    }
  }
  fclose(f);
}

int cmd_top(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "Usage: isola top CONTAINER\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct ctr ct;
  if (ctr_open(argv[1], &ct, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  json_t *pids = NULL;
  if (!ctr_is_running(&ct)) {
    log_error("container %s is not running", argv[1]);
    ctr_close(&ct);
    return EXIT_ENGINE;
  }
  if (container_pids(&ct, &pids, &err) < 0) {
    log_err(err);
    ctr_close(&ct);
    return EXIT_ENGINE;
  }
  long hz = sysconf(_SC_CLK_TCK);
  _cleanup_free_ char *rootfs = path_join(ct.dir, "rootfs");
  _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  printf("%-10s %-8s %-8s %-10s %s\n", "USER", "PID", "PPID", "TIME", "COMMAND");
  size_t i;
  json_t *p;
  json_array_foreach(pids, i, p)
  {
    int pid = (int)json_integer_value(p);
    char path[64], stat[1024], cmdline[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_small(path, stat, sizeof stat) <= 0)
      continue;
    char *rp = strrchr(stat, ')');
    int ppid = 0;
    unsigned long ut = 0, stt = 0;
    if (rp)
      sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ppid, &ut, &stt);
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int len = read_small(path, cmdline, sizeof cmdline);
    for (int k = 0; k < len - 1; k++)
      if (!cmdline[k])
        cmdline[k] = ' ';
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    char status[4096];
    unsigned uid = 0;
    if (read_small(path, status, sizeof status) > 0) {
      char *u = strstr(status, "\nUid:");
      if (u)
        sscanf(u + 5, "%u", &uid);
    }
    unsigned long secs = (ut + stt) / (unsigned long)hz;
    char t[32];
    snprintf(t, sizeof t, "%02lu:%02lu:%02lu", secs / 3600, secs / 60 % 60, secs % 60);
    char user[256];
    user_name(rootfd, uid, user, sizeof user);
    printf("%-10s %-8d %-8d %-10s %s\n", user, pid, ppid, t, len > 0 ? cmdline : "");
  }
  json_decref(pids);
  ctr_close(&ct);
  return 0;
}

/* One sample of a container's cgroup: CPU ns, memory bytes, limit, pids. */
struct sample {
  double cpu_ns, mem, limit, pids;
  uint64_t at_us;
};

static int sample(struct ctr *c, struct sample *s)
{
  const char *args[] = {"events", "--stats", c->id, NULL};
  char *out = NULL;
  if (ctr_runtime(args, &out, NULL) != 0) {
    free(out);
    return -1;
  }
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  json_t *d = json_object_get(j, "data");
  json_t *cpu = json_object_get(json_object_get(d, "cpu"), "usage");
  json_t *mem = json_object_get(json_object_get(d, "memory"), "usage");
  s->cpu_ns = (double)json_integer_value(json_object_get(cpu, "total"));
  s->mem = (double)json_integer_value(json_object_get(mem, "usage"));
  s->limit = (double)json_integer_value(json_object_get(mem, "limit"));
  s->pids = (double)json_integer_value(json_object_get(json_object_get(d, "pids"), "current"));
  s->at_us = clock_us(CLOCK_MONOTONIC);
  json_decref(j);
  return 0;
}

static void human_bytes(double b, char *out, size_t n)
{
  static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024 && i < 4) {
    b /= 1024;
    i++;
  }
  snprintf(out, n, i ? "%.2f%s" : "%.0f%s", b, u[i]);
}

int cmd_stats(int argc, char **argv)
{
  static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'}, {"all", no_argument, NULL, 'a'},
                                       {"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  bool stream = true, json = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
    if (c == 'n')
      stream = false;
    else if (c == 'f' && !strcmp(optarg, "json"))
      json = true;
    else if (c != 'a') {
      fprintf(stderr, "Usage: isola stats [--no-stream] [--format json] [CONTAINER...]\n");
      return EXIT_ENGINE;
    }
  }
  if (json)
    stream = false;
  do {
    char **ids = NULL;
    size_t n = 0;
    if (optind < argc) {
      ids = calloc((size_t)(argc - optind) + 1, sizeof *ids);
      for (int i = optind; i < argc; i++) {
        struct ctr ct;
        _cleanup_err_ err_t err = NULL;
        if (ctr_open(argv[i], &ct, &err) < 0) {
          log_err(err);
          cleanup_strvp(&ids);
          return EXIT_ENGINE;
        }
        ids[n++] = strdup(ct.id);
        ctr_close(&ct);
      }
    } else if (ctr_list(&ids, &n, NULL) < 0) {
      return EXIT_ENGINE;
    }
    struct sample *a = calloc(n + 1, sizeof *a), *b = calloc(n + 1, sizeof *b);
    bool *ok = calloc(n + 1, sizeof *ok);
    for (size_t i = 0; i < n; i++) {
      struct ctr ct;
      if (ctr_open_id(ids[i], &ct, NULL) == 0) {
        ok[i] = ctr_is_running(&ct) && sample(&ct, &a[i]) == 0;
        ctr_close(&ct);
      }
    }
    /* CPU % needs two samples: half a second apart */
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    json_t *out = json_array();
    if (!json)
      printf("%s%-12s  %-24s  %-8s  %-22s  %-7s  %s\n", stream ? "\033[2J\033[H" : "", "CONTAINER ID", "NAME", "CPU %",
             "MEM USAGE / LIMIT", "MEM %", "PIDS");
    for (size_t i = 0; i < n; i++) {
      struct ctr ct;
      if (!ok[i] || ctr_open_id(ids[i], &ct, NULL) < 0)
        continue;
      if (sample(&ct, &b[i]) == 0) {
        double dt = (double)(b[i].at_us - a[i].at_us) * 1000;
        double cpu = dt > 0 ? (b[i].cpu_ns - a[i].cpu_ns) / dt * 100 : 0;
        double limit = b[i].limit > 0 && b[i].limit < 9e18 ? b[i].limit : 0;
        double memp = limit ? b[i].mem / limit * 100 : 0;
        char mu[32], ml[32];
        human_bytes(b[i].mem, mu, sizeof mu);
        human_bytes(limit, ml, sizeof ml);
        if (json) {
          json_array_append_new(out, json_pack("{ss ss sf sf sf sf si}", "id", ct.id, "name", ctr_name(&ct),
                                               "cpu_percent", cpu, "mem_usage", b[i].mem, "mem_limit", limit,
                                               "mem_percent", memp, "pids", (int)b[i].pids));
        } else {
          char ml2[80];
          snprintf(ml2, sizeof ml2, "%s / %s", mu, limit ? ml : "-");
          printf("%-12.12s  %-24s  %-8.2f  %-22s  %-7.2f  %d\n", ct.id, ctr_name(&ct), cpu, ml2, memp,
                 (int)b[i].pids);
        }
      }
      ctr_close(&ct);
    }
    if (json) {
      char *s = json_dumps(out, JSON_INDENT(4));
      printf("%s\n", s);
      free(s);
    }
    json_decref(out);
    fflush(stdout);
    free(a);
    free(b);
    free(ok);
    cleanup_strvp(&ids);
  } while (stream);
  return 0;
}

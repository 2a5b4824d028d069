/* One run of a container under the monitor: isola-runtime create, the
 * network attachment, start, then serving it until it exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fdpass.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/base/proc.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/engine.h"
#include "engine/monitor/health.h"
#include "engine/monitor/logfile.h"
#include "engine/monitor/mon.h"
#include "engine/monitor/restart.h"

/* isola-runtime with the container's stdio given (a container made by
 * `create` inherits it); waits.  When it fails, its own error (from its
 * JSON log) into *err. */
static int mon_runtime_call(const char *const *args, int in, int out, int errfd, err_t *err)
{
  _cleanup_free_ char *rt = engine_helper("isola-runtime");
  _cleanup_free_ char *rtroot = engine_run_path("runtime");
  _cleanup_close_ int logfd = memfd_create("isola-runtime-log", MFD_CLOEXEC);
  char logpath[64];
  snprintf(logpath, sizeof logpath, "/proc/%d/fd/%d", (int)getpid(), logfd);
  const char *argv[20] = {rt, "--root", rtroot, "--log", logpath, "--log-format", "json"};
  size_t n = 7;
  for (size_t i = 0; args[i] && n < 19; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  pid_t pid = proc_spawn(argv, in, out, errfd, NULL);
  if (pid < 0)
    return EXIT_ENGINE;
  int code = proc_wait(pid);
  if (code != 0 && err) {
    off_t len = lseek(logfd, 0, SEEK_END);
    char *buf = len > 0 ? malloc((size_t)len + 1) : NULL;
    ssize_t got = buf ? pread(logfd, buf, (size_t)len, 0) : -1;
    if (got > 0) {
      buf[got] = 0;
      for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *lvl = json_string_value(json_object_get(j, "level"));
        const char *m = json_string_value(json_object_get(j, "msg"));
        if (lvl && m && !strcmp(lvl, "error")) {
          /* "cannot create container `ID`: why" → "why": the engine names it */
          const char *why = strstr(m, "`: ");
          err_make(err, 0, "%s", why && !strncmp(m, "cannot ", 7) ? why + 3 : m);
        }
        json_decref(j);
      }
    }
    free(buf);
  }
  return code;
}

/* Docker's exit codes for a command that cannot start. */
static int mon_start_failure_code(const err_t err)
{
  const char *msg = err_msg(err);
  if (!strstr(msg, "exec"))
    return EXIT_ENGINE;
  if (strcasestr(msg, "No such file or directory"))
    return 127;
  if (strcasestr(msg, "Permission denied") || strcasestr(msg, "Is a directory") ||
      strcasestr(msg, "Exec format error"))
    return 126;
  return EXIT_ENGINE;
}

static pid_t mon_read_pid(const char *path)
{
  _cleanup_free_ char *s = NULL;
  if (file_read_all(path, 64, &s, NULL, NULL) < 0)
    return 0;
  return (pid_t)atoi(s);
}

/* A created container that will not run: the runtime's state, cgroup and
 * waiting init go, and so does its stdio. */
static void mon_abandon(struct mon *m)
{
  const char *del[] = {"delete", "--force", m->c->id, NULL};
  mon_runtime_call(del, -1, -1, -1, NULL);
  netctr_detach(m->c);
  mon_close_stdio(m);
}

/* The container runs: serve it until it exits and its output is drained
 * (waiting at most 2 s after the exit for stdio that stays open). */
static void serve(struct mon *m)
{
  struct ctr *c = m->c;
  uint64_t exit_at = 0;
  for (;;) {
    bool open_out = m->out_r >= 0 || m->err_r >= 0 || m->tty_fd >= 0;
    if (m->exited && (!open_out || clock_us(CLOCK_MONOTONIC) - exit_at > 2000000))
      break;
    struct epoll_event evs[16];
    int k = epoll_wait(m->ep, evs, 16, m->exited ? 100 : -1);
    for (int i = 0; i < k; i++) {
      uint64_t t = evs[i].data.u64;
      if (t == T_OUT)
        mon_on_output(m, &m->out_r, 0);
      else if (t == T_ERR)
        mon_on_output(m, &m->err_r, 1);
      else if (t == T_TTY) {
        /* a pty reports EIO once every slave is closed */
        mon_on_tty(m);
      } else if (t == T_IN)
        mon_flush_stdin(m);
      else if (t == T_HTIMER)
        health_tick(&m->health);
      else if (t == T_HOUT)
        health_output(&m->health);
      else
        mon_common_event(m, t);
    }
    if (m->health.changed) {
      m->health.changed = false;
      mon_set_state(m, "running");
      engine_event("container", "health_status", c->id,
                   json_pack("{ss ss}", "name", ctr_name(c), "health_status", m->health.status));
      if (m->health.act && !m->exited) {
        m->health.act = false;
        kill(m->pid, SIGKILL);
      }
    }
    if (m->exited && !exit_at) {
      exit_at = clock_us(CLOCK_MONOTONIC);
      mon_release_console(m);
    }
  }
}

/* Create and start the container once; returns 0 when it ran (m->code is
 * its exit code), else the start-failure exit code with *err. */
int mon_run_once(struct mon *m, bool first, err_t *err)
{
  struct ctr *c = m->c;
  int fds[3], console_lfd;
  if (m->vm)
    return mon_run_once_vm(m, first, err);
  m->pid = 0;
  m->exited = false;
  memset(m->early_pid, 0, sizeof m->early_pid);
  if (mon_setup_stdio(m, fds, &console_lfd) < 0) {
    err_make(err, 0, "cannot make the container's stdio");
    return EXIT_ENGINE;
  }
  _cleanup_free_ char *bundle = path_join(c->dir, "bundle");
  _cleanup_free_ char *pidfile = path_join(c->rundir, "pid");
  unlink(pidfile);
  char console[128];
  snprintf(console, sizeof console, "/proc/%d/fd/%d/console.sock", (int)getpid(), m->rundir_fd);
  const char *create[10] = {"create", "--bundle", bundle, "--pid-file", pidfile};
  size_t na = 5;
  if (m->tty) {
    create[na++] = "--console-socket";
    create[na++] = console;
  }
  create[na++] = c->id;
  create[na] = NULL;
  int code = mon_runtime_call(create, fds[0], fds[1], fds[2], err);
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  if (code != 0) {
    if (console_lfd >= 0)
      close(console_lfd);
    mon_close_stdio(m);
    return mon_start_failure_code(err_get(err));
  }
  if (m->tty) {
    int cfd = mon_accept_one(console_lfd, 10000);
    char b[16];
    int master = -1;
    if (cfd >= 0)
      fd_recv(cfd, b, sizeof b, 0, &master);
    if (cfd >= 0)
      close(cfd);
    close(console_lfd);
    _cleanup_free_ char *cs = path_join(c->rundir, "console.sock");
    unlink(cs);
    if (master < 0) {
      err_make(err, 0, "the runtime sent no terminal");
      mon_abandon(m);
      return EXIT_ENGINE;
    }
    m->tty_fd = master;
    mon_hold_console(m);
    fcntl(master, F_SETFL, O_NONBLOCK);
    mon_watch(m, master, T_TTY, EPOLLIN);
  } else {
    fcntl(m->out_r, F_SETFL, O_NONBLOCK);
    fcntl(m->err_r, F_SETFL, O_NONBLOCK);
    mon_watch(m, m->out_r, T_OUT, EPOLLIN);
    mon_watch(m, m->err_r, T_ERR, EPOLLIN);
    if (m->in_w >= 0)
      mon_watch(m, m->in_w, T_IN, 0);
  }
  m->pid = mon_read_pid(pidfile);
  const char *netmode = json_string_value(json_object_get(json_object_get(c->rec, "HostConfig"), "NetworkMode"));
  if (m->pid > 0 && netmode && strcmp(netmode, "host") && strncmp(netmode, "container:", 10)) {
    if (netctr_attach(c, m->pid, err) < 0) {
      mon_abandon(m);
      return EXIT_ENGINE;
    }
  }
  if (first && m->wait_attach) {
    mon_report(m, 0, NULL);
    int cl = mon_accept_one(m->lfd, 60000);
    if (cl >= 0)
      mon_add_client(m, cl);
  }
  const char *start[] = {"start", c->id, NULL};
  if (!first && monitor_manually_stopped(c)) {
    mon_abandon(m); /* stopped while we restarted it: do not run it again */
    return 0;
  }
  code = mon_runtime_call(start, -1, -1, -1, err);
  if (code != 0) {
    mon_abandon(m);
    return mon_start_failure_code(err_get(err));
  }
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_object_set_new(c->state, "Pid", json_integer(m->pid));
  json_object_set_new(c->state, "StartedAt", json_string(now));
  json_object_set_new(c->state, "ExitCode", json_integer(0));
  json_object_del(c->state, "Error");
  health_reset(&m->health);
  mon_set_state(m, "running");
  char b[24];
  int n = snprintf(b, sizeof b, "%d", (int)m->pid);
  mon_broadcast(m, 'P', b, (size_t)n);
  engine_event("container", "start", c->id, json_pack("{ss}", "name", ctr_name(c)));
  if (first && !m->wait_attach)
    mon_report(m, 0, NULL);
  for (int i = 0; i < 8; i++)
    if (m->early_pid[i] == m->pid && m->pid > 0) {
      m->exited = true;
      m->code = proc_exit_code(m->early_status[i]);
    }
  if (m->health.enabled)
    health_arm(&m->health);

  serve(m);
  health_disarm(&m->health);
  logw_flush(&m->log);
  mon_abandon(m);
  return 0;
}

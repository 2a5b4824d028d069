/* The container monitor (monitor.h). */
#include "engine/monitor/monitor.h"

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
#include "engine/base/parse.h"
#include "engine/base/proc.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/container/remove.h"
#include "engine/engine.h"
#include "engine/monitor/attach.h"
#include "engine/monitor/health.h"
#include "engine/monitor/logfile.h"
#include "engine/monitor/mon.h"
#include "engine/monitor/restart.h"

void mon_set_state(struct mon *m, const char *status)
{
  json_object_set_new(m->c->state, "Status", json_string(status));
  json_object_set_new(m->c->state, "Health", health_json(&m->health));
  err_t err = NULL;
  if (ctr_save_state(m->c, &err) < 0) {
    log_err(err);
    err_free(&err);
  }
}

void mon_reap(struct mon *m)
{
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    if (p == m->pid && !m->vm) {
      m->exited = true;
      m->code = proc_exit_code(st);
    } else if (m->vm && p == m->vmm) {
      m->vmm = 0;
      if (!m->exited) {
        m->exited = true;
        m->code = 137;
        json_object_set_new(m->c->state, "Error", json_string("the microVM exited before the command ended"));
      }
    } else if (health_reaped(&m->health, p, st)) {
      mon_set_state(m, m->exited ? "exited" : "running");
    } else if (m->pid == 0) {
      for (int i = 0; i < 8; i++)
        if (!m->early_pid[i]) {
          m->early_pid[i] = p;
          m->early_status[i] = st;
          break;
        }
    }
  }
}

void mon_report(struct mon *m, int code, const err_t err)
{
  if (m->sync_fd < 0)
    return;
  char head[32];
  int n = code ? snprintf(head, sizeof head, "ERR %d\n", code) : snprintf(head, sizeof head, "OK\n");
  fd_write_all(m->sync_fd, head, (size_t)n, NULL);
  if (err)
    fd_write_all(m->sync_fd, err_msg(err), strlen(err_msg(err)), NULL);
  close(m->sync_fd);
  m->sync_fd = -1;
}

/* Events both loops serve: attach clients and child exits; false for
 * the others. */
bool mon_common_event(struct mon *m, uint64_t t)
{
  if (t == T_LISTEN) {
    int cl = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cl >= 0)
      mon_add_client(m, cl);
  } else if (t == T_SIG) {
    struct signalfd_siginfo si;
    while (read(m->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
    mon_reap(m);
  } else if (t >= T_CLIENT && t < T_CLIENT + MAX_CLIENTS) {
    mon_client_input(m, (int)(t - T_CLIENT));
  } else {
    return false;
  }
  return true;
}

/* The end of the monitor: log closed, root unmounted, the container
 * removed for --rm, then the exit code to the clients. */
static void mon_finish(struct mon *m)
{
  struct ctr *c = m->c;
  err_t err = NULL;
  logw_close(&m->log);
  netctr_stopped(c);
  if (m->vm)
    netctr_vm_untap(c);
  _cleanup_free_ char *root = path_join(c->dir, "rootfs");
  proc_unmount_all(root);
  if (json_is_true(json_object_get(json_object_get(c->rec, "HostConfig"), "AutoRemove"))) {
    if (ctr_remove_files(c, true, &err) < 0) {
      log_err(err);
      err_free(&err);
    } else {
      engine_event("container", "destroy", c->id, json_pack("{ss}", "name", ctr_name(c)));
    }
  } else {
    _cleanup_free_ char *sock = path_join(c->rundir, "attach.sock");
    unlink(sock);
  }
  char code[16];
  int n = snprintf(code, sizeof code, "%d", (int)json_integer_value(json_object_get(c->state, "ExitCode")));
  mon_broadcast(m, 'X', code, (size_t)n);
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i] >= 0)
      close(m->clients[i]);
}

static void monitor_main(struct ctr *c, int sync_fd, bool wait_attach)
{
  struct mon m = {.c = c, .sync_fd = sync_fd, .wait_attach = wait_attach, .lfd = -1, .out_r = -1,
                  .err_r = -1, .tty_fd = -1, .tty_peer = -1, .in_w = -1};
  for (int i = 0; i < MAX_CLIENTS; i++)
    m.clients[i] = -1;
  json_t *cfg = json_object_get(c->rec, "Config"), *hc = json_object_get(c->rec, "HostConfig");
  m.tty = json_is_true(json_object_get(cfg, "Tty"));
  m.vm = json_is_true(json_object_get(json_object_get(hc, "VM"), "Enabled"));
  m.agent = -1;
  m.open_stdin = json_is_true(json_object_get(cfg, "OpenStdin"));
  prctl(PR_SET_NAME, "isola-monitor");
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  _cleanup_free_ char *mlog = path_join(c->dir, "monitor.log");
  log_open("isola-monitor", mlog, LOG_FORMAT_TEXT, NULL);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  m.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  m.ep = epoll_create1(EPOLL_CLOEXEC);
  mon_watch(&m, m.sfd, T_SIG, EPOLLIN);

  json_t *lc = json_object_get(json_object_get(hc, "LogConfig"), "Config");
  int64_t max_size = 0;
  const char *ms = json_string_value(json_object_get(lc, "max-size"));
  const char *mf = json_string_value(json_object_get(lc, "max-file"));
  if (ms)
    parse_size(ms, "max-size", &max_size, NULL);
  _cleanup_free_ char *logpath = path_join(c->dir, "ctr.log");
  err_t err = NULL;
  if (logw_open(&m.log, logpath, (uint64_t)max_size, mf ? atoi(mf) : 1, &err) < 0 ||
      (m.lfd = attach_listen(c->rundir, "attach.sock", &err)) < 0) {
    mon_report(&m, EXIT_ENGINE, err);
    err_free(&err);
    return;
  }
  fcntl(m.lfd, F_SETFL, O_NONBLOCK);
  mon_watch(&m, m.lfd, T_LISTEN, EPOLLIN);
  m.rundir_fd = open(c->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_json_ json_t *img = bundle_image_config(c);
  health_init(&m.health, c, json_object_get(cfg, "Healthcheck") ? json_object_get(cfg, "Healthcheck")
                                                                 : json_object_get(img, "Healthcheck"),
              m.ep, T_HTIMER, T_HOUT);
  json_object_set_new(c->state, "MonitorPid", json_integer(getpid()));
  json_object_set_new(c->state, "MonitorStartTime", json_integer((json_int_t)proc_start_time(getpid())));
  json_object_set_new(c->state, "RestartCount", json_integer(0));

  int restarts = 0;
  int fail = mon_run_once(&m, true, &err);
  if (fail) {
    json_object_set_new(c->state, "ExitCode", json_integer(fail));
    json_object_set_new(c->state, "Error", json_string(err ? err_msg(err) : "cannot start"));
    /* MonitorPid stays: until this process is gone, rm and start wait for
     * the clean-up below (a dead monitor's pid reads as none) */
    mon_set_state(&m, "created");
    /* clean up before the report: `run --rm` returns to a clean host */
    mon_finish(&m);
    mon_report(&m, fail, err);
    err_free(&err);
    return;
  }
  for (;;) {
    char now[CLOCK_RFC3339_LEN];
    clock_rfc3339(now, sizeof now);
    json_object_set_new(c->state, "ExitCode", json_integer(m.code));
    json_object_set_new(c->state, "FinishedAt", json_string(now));
    json_object_set_new(c->state, "Pid", json_integer(0));
    char code[16];
    snprintf(code, sizeof code, "%d", m.code);
    engine_event("container", "die", c->id, json_pack("{ss ss}", "name", ctr_name(c), "exitCode", code));
    if (!monitor_want_restart(c, m.code, restarts, &m.health.force_restart))
      break;
    mon_set_state(&m, "restarting");
    /* Docker's back-off: 100 ms doubling, up to a minute */
    uint64_t delay_ms = 100ull << (restarts < 10 ? restarts : 10);
    if (delay_ms > 60000)
      delay_ms = 60000;
    for (uint64_t waited = 0; waited < delay_ms && !monitor_manually_stopped(c); waited += 50) {
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
      int cl;
      while ((cl = accept4(m.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        mon_add_client(&m, cl);
    }
    if (monitor_manually_stopped(c))
      break;
    restarts++;
    json_object_set_new(c->state, "RestartCount", json_integer(restarts));
    engine_event("container", "restart", c->id, json_pack("{ss}", "name", ctr_name(c)));
    fail = mon_run_once(&m, false, &err);
    if (fail) {
      json_object_set_new(c->state, "ExitCode", json_integer(fail));
      json_object_set_new(c->state, "Error", json_string(err ? err_msg(err) : "cannot restart"));
      err_free(&err);
      break;
    }
  }
  json_object_set_new(c->state, "Pid", json_integer(0));
  mon_set_state(&m, "exited"); /* MonitorPid stays, as above */
  mon_finish(&m);
}

int monitor_launch(struct ctr *c, bool wait_attach, int *exit_code, err_t *err)
{
  int p[2];
  *exit_code = EXIT_ENGINE;
  if (pipe2(p, O_CLOEXEC) < 0)
    return err_sys(err, "pipe");
  fflush(NULL);
  pid_t child = fork();
  if (child < 0) {
    close(p[0]);
    close(p[1]);
    return err_sys(err, "cannot fork the monitor");
  }
  if (child == 0) {
    setsid();
    if (fork() != 0)
      _exit(0);
    /* the monitor: nothing of the command's but the report pipe */
    int sync_fd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
    int low = sync_fd + 1;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3, sync_fd - 1, 0) < 0 || syscall(SYS_close_range, low, ~0U, 0) < 0)
#endif
      for (int fd = 3; fd < 1024; fd++)
        if (fd != sync_fd)
          close(fd);
    c->lock_fd = -1;
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2)
      close(null);
    if (chdir("/") < 0)
      _exit(1);
    monitor_main(c, sync_fd, wait_attach);
    _exit(0);
  }
  close(p[1]);
  proc_wait(child);
  char buf[4096];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof buf - 1 && (n = read(p[0], buf + got, sizeof buf - 1 - got)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    got += (size_t)n;
  }
  close(p[0]);
  buf[got] = 0;
  if (!strncmp(buf, "OK", 2)) {
    *exit_code = 0;
    return 0;
  }
  if (!strncmp(buf, "ERR ", 4)) {
    *exit_code = atoi(buf + 4);
    const char *msg = strchr(buf, '\n');
    return err_make(err, 0, "%s", msg && msg[1] ? msg + 1 : "the container could not start");
  }
  return err_make(err, EIO, "the container's monitor died before it reported (see %s/monitor.log)", c->dir);
}

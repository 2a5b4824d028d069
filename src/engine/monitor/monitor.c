/* The container monitor (monitor.h). */
#include "engine/base/parse.h"
#include "engine/container/remove.h"
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
#include "engine/monitor/attach.h"
#include "engine/container/bundle.h"
#include "engine/engine.h"
#include "engine/monitor/health.h"
#include "engine/monitor/logfile.h"
#include "engine/container/netctr.h"
#include "engine/base/proc.h"
#include "engine/monitor/restart.h"
#include "engine/vm/vm.h"

#define MAX_CLIENTS 16

enum tag { T_OUT, T_ERR, T_TTY, T_LISTEN, T_SIG, T_IN, T_HTIMER, T_HOUT, T_AGENT, T_CLIENT = 100 };

struct mon {
  struct ctr *c;
  int sync_fd;
  bool wait_attach, tty, open_stdin;
  struct logw log;
  int lfd, ep, sfd, rundir_fd;
  int clients[MAX_CLIENTS];
  int out_r, err_r, tty_fd, in_w;
  int tty_peer; /* our own fd on the terminal's slave side (hold_console) */
  char *inbuf;
  size_t inlen;
  bool in_eof;
  pid_t pid;
  bool exited;
  int code;
  bool vm;
  int agent; /* --vm: the agent connection */
  pid_t vmm;
  struct health health;
  /* exits reaped before the container's PID was known */
  pid_t early_pid[8];
  int early_status[8];
};

static void set_state(struct mon *m, const char *status)
{
  json_object_set_new(m->c->state, "Status", json_string(status));
  json_object_set_new(m->c->state, "Health", health_json(&m->health));
  err_t err = NULL;
  if (ctr_save_state(m->c, &err) < 0) {
    log_err(err);
    err_free(&err);
  }
}

static void broadcast(struct mon *m, char type, const void *data, size_t len)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i] >= 0 && attach_send(m->clients[i], type, data, len) < 0) {
      close(m->clients[i]);
      m->clients[i] = -1;
    }
}

static void add_client(struct mon *m, int fd)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i] < 0) {
      m->clients[i] = fd;
      /* a client that stops reading is dropped after 5 s, not waited for */
      struct timeval tv = {5, 0};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      struct epoll_event ev = {.events = EPOLLIN, .data.u64 = T_CLIENT + (uint64_t)i};
      epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev);
      if (m->pid > 0 && !m->exited) {
        char b[24];
        int n = snprintf(b, sizeof b, "%d", (int)m->pid);
        attach_send(fd, 'P', b, (size_t)n);
      }
      return;
    }
  close(fd);
}

static void watch(struct mon *m, int fd, enum tag t, uint32_t events)
{
  struct epoll_event ev = {.events = events, .data.u64 = t};
  epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void close_fd(struct mon *m, int *fd)
{
  if (*fd >= 0) {
    epoll_ctl(m->ep, EPOLL_CTL_DEL, *fd, NULL);
    close(*fd);
  }
  *fd = -1;
}

/* Keep the terminal's slave side open while the container runs.  A pty
 * master reads EIO whenever no slave fd is open, and an init system closes
 * and reopens /dev/console for every message (systemd does, as PID 1 in a
 * container): without our own fd the first gap looked like the end of the
 * container's output, the master was closed, and every later message (and
 * the shutdown's) was lost.  Dropped when the container exits, so that its
 * last output drains and the master then reads EIO as before. */
static void hold_console(struct mon *m)
{
  m->tty_peer = ioctl(m->tty_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static void release_console(struct mon *m)
{
  if (m->tty_peer >= 0)
    close(m->tty_peer);
  m->tty_peer = -1;
}

/* The container's side of one run: its stdio and pending input. */
static void close_stdio(struct mon *m)
{
  close_fd(m, &m->out_r);
  close_fd(m, &m->err_r);
  close_fd(m, &m->tty_fd);
  release_console(m);
  close_fd(m, &m->in_w);
  free(m->inbuf);
  m->inbuf = NULL;
  m->inlen = 0;
}

static void flush_stdin(struct mon *m)
{
  int fd = m->tty ? m->tty_fd : m->in_w;
  while (m->inlen && fd >= 0) {
    ssize_t n = write(fd, m->inbuf, m->inlen);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      if (errno != EAGAIN) {
        m->inlen = 0;
        m->in_eof = true;
      }
      break;
    }
    memmove(m->inbuf, m->inbuf + n, m->inlen - (size_t)n);
    m->inlen -= (size_t)n;
  }
  if (!m->tty && m->in_w >= 0) {
    struct epoll_event ev = {.events = m->inlen ? EPOLLOUT : 0, .data.u64 = T_IN};
    epoll_ctl(m->ep, EPOLL_CTL_MOD, m->in_w, &ev);
    if (!m->inlen && m->in_eof)
      close_fd(m, &m->in_w);
  }
}

static void client_input(struct mon *m, int i)
{
  char type;
  char *data;
  size_t len;
  if (attach_recv(m->clients[i], &type, &data, &len) <= 0) {
    close_fd(m, &m->clients[i]);
    return;
  }
  if (type == 'K') {
    int sig = atoi(data);
    if (m->vm && m->agent >= 0) {
      unsigned char be[4] = {(unsigned char)(sig >> 24), (unsigned char)(sig >> 16), (unsigned char)(sig >> 8),
                             (unsigned char)sig};
      attach_send(m->agent, 'K', be, 4);
    } else if (m->pid > 0 && sig > 0) {
      kill(m->pid, sig);
    }
  } else if (type == 'I' && m->vm) {
    if (m->agent >= 0 && m->open_stdin)
      attach_send(m->agent, 'I', data, len);
  } else if (type == 'I' && m->open_stdin) {
    if (len == 0) {
      if (m->tty) {
        char eot = 4; /* ^D at the start of a line ends a pty's input */
        len = 1;
        free(data);
        data = malloc(1);
        data[0] = eot;
      } else {
        m->in_eof = true;
      }
    }
    if (len) {
      char *grown = realloc(m->inbuf, m->inlen + len);
      if (grown) {
        m->inbuf = grown;
        memcpy(m->inbuf + m->inlen, data, len);
        m->inlen += len;
      }
    }
    flush_stdin(m);
  } else if (type == 'W' && m->tty_fd >= 0) {
    unsigned rows, cols;
    if (sscanf(data, "%u %u", &rows, &cols) == 2) {
      struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
      ioctl(m->tty_fd, TIOCSWINSZ, &ws);
    }
  }
  free(data);
}

static void on_output(struct mon *m, int *fd, int stream)
{
  char buf[32768];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    close_fd(m, fd);
    return;
  }
  logw_write(&m->log, stream, buf, (size_t)n);
  broadcast(m, stream ? 'E' : 'O', buf, (size_t)n);
}

/* The terminal's output.  A getty in the container hangs the console up
 * (vhangup), our fd on it too: the master then reads EIO while the
 * container runs on.  Take a fresh fd on the slave rather than end the
 * output there. */
static void on_tty(struct mon *m)
{
  char buf[32768];
  ssize_t n = read(m->tty_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n < 0 && errno == EIO && !m->exited && m->tty_peer >= 0) {
    release_console(m);
    hold_console(m);
    if (m->tty_peer >= 0)
      return;
  }
  if (n <= 0) {
    close_fd(m, &m->tty_fd);
    return;
  }
  logw_write(&m->log, 0, buf, (size_t)n);
  broadcast(m, 'O', buf, (size_t)n);
}

static void reap(struct mon *m)
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
      set_state(m, m->exited ? "exited" : "running");
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

/* isola-runtime with the container's stdio given (a container made by
 * `create` inherits it); waits.  When it fails, its own error (from its
 * JSON log) into *err. */
static int runtime_call(const char *const *args, int in, int out, int errfd, err_t *err)
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
static int start_failure_code(const err_t err)
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

static void report(struct mon *m, int code, const err_t err)
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

static pid_t read_pid(const char *path)
{
  _cleanup_free_ char *s = NULL;
  if (file_read_all(path, 64, &s, NULL, NULL) < 0)
    return 0;
  return (pid_t)atoi(s);
}

/* Stdio for one run of the container: pipes, or a pty by console socket. */
static int setup_stdio(struct mon *m, int fds[3], int *console_lfd)
{
  fds[0] = fds[1] = fds[2] = -1;
  *console_lfd = -1;
  if (m->tty) {
    *console_lfd = attach_listen(m->c->rundir, "console.sock", NULL);
    return *console_lfd < 0 ? -1 : 0;
  }
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
    return -1;
  m->out_r = o[0];
  m->err_r = e[0];
  fds[1] = o[1];
  fds[2] = e[1];
  if (m->open_stdin) {
    int i[2];
    if (pipe2(i, O_CLOEXEC) < 0)
      return -1;
    fds[0] = i[0];
    m->in_w = i[1];
    fcntl(m->in_w, F_SETFL, O_NONBLOCK);
    m->in_eof = false;
  }
  return 0;
}

static int accept_one(int lfd, int timeout_ms)
{
  struct pollfd p = {lfd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0)
    return -1;
  return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Events both loops serve: attach clients and child exits; false for
 * the others. */
static bool common_event(struct mon *m, uint64_t t)
{
  if (t == T_LISTEN) {
    int cl = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cl >= 0)
      add_client(m, cl);
  } else if (t == T_SIG) {
    struct signalfd_siginfo si;
    while (read(m->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
    reap(m);
  } else if (t >= T_CLIENT && t < T_CLIENT + MAX_CLIENTS) {
    client_input(m, (int)(t - T_CLIENT));
  } else {
    return false;
  }
  return true;
}

/* --vm: boot the microVM (or reach the test agent), run the command
 * through isola-init's agent and carry its stdio and status. */
static void agent_frame(struct mon *m)
{
  char type;
  char *data;
  size_t len;
  if (attach_recv(m->agent, &type, &data, &len) <= 0) {
    close_fd(m, &m->agent);
    if (!m->exited) {
      m->exited = true;
      m->code = 137;
    }
    return;
  }
  if (type == 'O' || type == 'R') {
    logw_write(&m->log, type == 'R', data, len);
    broadcast(m, type == 'R' ? 'E' : 'O', data, len);
  } else if (type == 'F') {
    json_object_set_new(m->c->state, "Error", json_string(data));
    logw_write(&m->log, 1, data, len);
    logw_write(&m->log, 1, "\n", 1);
  } else if (type == 'X' && len == 4) {
    m->exited = true;
    m->code = (unsigned char)data[0] << 24 | (unsigned char)data[1] << 16 | (unsigned char)data[2] << 8 |
              (unsigned char)data[3];
  }
  free(data);
}

static void vm_poweroff(struct mon *m, const char *agent)
{
  if (m->vmm <= 0)
    return;
  int fd = vm_agent_connect(agent, m->vmm, 2000, NULL);
  if (fd >= 0) {
    attach_send(fd, 'P', "", 0);
    close(fd);
  }
  for (int i = 0; i < 100 && m->vmm > 0; i++) {
    usleep(100 * 1000);
    reap(m);
  }
  if (m->vmm > 0) {
    kill(m->vmm, SIGKILL);
    proc_wait(m->vmm);
    m->vmm = 0;
  }
}

static int run_once_vm(struct mon *m, bool first, err_t *err)
{
  struct ctr *c = m->c;
  _cleanup_free_ char *planp = path_join(c->dir, "vm.json");
  _cleanup_json_ json_t *plan = NULL;
  m->exited = false;
  m->agent = -1;
  if (json_load_path(planp, &plan, err) < 0)
    return EXIT_ENGINE;
  const char *agent = json_string_value(json_object_get(plan, "agent"));
  if (!strncmp(agent, "vsock:", 6)) {
    json_t *vargv = json_object_get(plan, "vmm");
    size_t n = json_array_size(vargv);
    const char **argv = calloc(n + 1, sizeof *argv);
    for (size_t i = 0; i < n; i++)
      argv[i] = json_string_value(json_array_get(vargv, i));
    _cleanup_free_ char *console = path_join(c->dir, "console.log");
    _cleanup_close_ int cfd = open(console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    m->vmm = proc_spawn(argv, -1, cfd, cfd, err);
    free(argv);
    if (m->vmm < 0) {
      m->vmm = 0;
      return EXIT_ENGINE;
    }
  }
  m->agent = vm_agent_connect(agent, m->vmm, 60000, err);
  if (m->agent < 0) {
    err_make(err, err_errnum(err_get(err)), "%s (the guest's console is in %s/console.log)", err_msg(err_get(err)),
             c->dir);
    vm_poweroff(m, agent);
    return EXIT_ENGINE;
  }
  char *body = json_dumps(json_object_get(plan, "exec"), JSON_COMPACT);
  attach_send(m->agent, 'E', body, strlen(body));
  free(body);
  if (!m->open_stdin)
    attach_send(m->agent, 'I', "", 0);
  watch(m, m->agent, T_AGENT, EPOLLIN);
  if (first && m->wait_attach) {
    report(m, 0, NULL);
    int cl = accept_one(m->lfd, 60000);
    if (cl >= 0)
      add_client(m, cl);
  }
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  m->pid = m->vmm;
  json_object_set_new(c->state, "Pid", json_integer(m->vmm));
  json_object_set_new(c->state, "StartedAt", json_string(now));
  json_object_set_new(c->state, "ExitCode", json_integer(0));
  set_state(m, "running");
  engine_event("container", "start", c->id, json_pack("{ss}", "name", ctr_name(c)));
  if (first && !m->wait_attach)
    report(m, 0, NULL);
  while (!m->exited) {
    struct epoll_event evs[16];
    int k = epoll_wait(m->ep, evs, 16, -1);
    for (int i = 0; i < k; i++) {
      uint64_t t = evs[i].data.u64;
      if (t == T_AGENT)
        agent_frame(m);
      else
        common_event(m, t);
    }
  }
  logw_flush(&m->log);
  close_fd(m, &m->agent);
  vm_poweroff(m, agent);
  return 0;
}

/* A created container that will not run: the runtime's state, cgroup and
 * waiting init go, and so does its stdio. */
static void abandon(struct mon *m)
{
  const char *del[] = {"delete", "--force", m->c->id, NULL};
  runtime_call(del, -1, -1, -1, NULL);
  netctr_detach(m->c);
  close_stdio(m);
}

/* Create and start the container once; returns 0 when it ran (m->code is
 * its exit code), else the start-failure exit code with *err. */
static int run_once(struct mon *m, bool first, err_t *err)
{
  struct ctr *c = m->c;
  int fds[3], console_lfd;
  if (m->vm)
    return run_once_vm(m, first, err);
  m->pid = 0;
  m->exited = false;
  memset(m->early_pid, 0, sizeof m->early_pid);
  if (setup_stdio(m, fds, &console_lfd) < 0) {
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
  int code = runtime_call(create, fds[0], fds[1], fds[2], err);
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  if (code != 0) {
    if (console_lfd >= 0)
      close(console_lfd);
    close_stdio(m);
    return start_failure_code(err_get(err));
  }
  if (m->tty) {
    int cfd = accept_one(console_lfd, 10000);
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
      abandon(m);
      return EXIT_ENGINE;
    }
    m->tty_fd = master;
    hold_console(m);
    fcntl(master, F_SETFL, O_NONBLOCK);
    watch(m, master, T_TTY, EPOLLIN);
  } else {
    fcntl(m->out_r, F_SETFL, O_NONBLOCK);
    fcntl(m->err_r, F_SETFL, O_NONBLOCK);
    watch(m, m->out_r, T_OUT, EPOLLIN);
    watch(m, m->err_r, T_ERR, EPOLLIN);
    if (m->in_w >= 0)
      watch(m, m->in_w, T_IN, 0);
  }
  m->pid = read_pid(pidfile);
  const char *netmode = json_string_value(json_object_get(json_object_get(c->rec, "HostConfig"), "NetworkMode"));
  if (m->pid > 0 && netmode && strcmp(netmode, "host") && strncmp(netmode, "container:", 10)) {
    if (netctr_attach(c, m->pid, err) < 0) {
      abandon(m);
      return EXIT_ENGINE;
    }
  }
  if (first && m->wait_attach) {
    report(m, 0, NULL);
    int cl = accept_one(m->lfd, 60000);
    if (cl >= 0)
      add_client(m, cl);
  }
  const char *start[] = {"start", c->id, NULL};
  if (!first && monitor_manually_stopped(c)) {
    abandon(m); /* stopped while we restarted it: do not run it again */
    return 0;
  }
  code = runtime_call(start, -1, -1, -1, err);
  if (code != 0) {
    abandon(m);
    return start_failure_code(err_get(err));
  }
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_object_set_new(c->state, "Pid", json_integer(m->pid));
  json_object_set_new(c->state, "StartedAt", json_string(now));
  json_object_set_new(c->state, "ExitCode", json_integer(0));
  json_object_del(c->state, "Error");
  health_reset(&m->health);
  set_state(m, "running");
  char b[24];
  int n = snprintf(b, sizeof b, "%d", (int)m->pid);
  broadcast(m, 'P', b, (size_t)n);
  engine_event("container", "start", c->id, json_pack("{ss}", "name", ctr_name(c)));
  if (first && !m->wait_attach)
    report(m, 0, NULL);
  for (int i = 0; i < 8; i++)
    if (m->early_pid[i] == m->pid && m->pid > 0) {
      m->exited = true;
      m->code = proc_exit_code(m->early_status[i]);
    }
  if (m->health.enabled)
    health_arm(&m->health);

  /* the container runs: serve it until it exits and its output is drained */
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
        on_output(m, &m->out_r, 0);
      else if (t == T_ERR)
        on_output(m, &m->err_r, 1);
      else if (t == T_TTY) {
        /* a pty reports EIO once every slave is closed */
        on_tty(m);
      } else if (t == T_IN)
        flush_stdin(m);
      else if (t == T_HTIMER)
        health_tick(&m->health);
      else if (t == T_HOUT)
        health_output(&m->health);
      else
        common_event(m, t);
    }
    if (m->health.changed) {
      m->health.changed = false;
      set_state(m, "running");
      engine_event("container", "health_status", c->id,
                   json_pack("{ss ss}", "name", ctr_name(c), "health_status", m->health.status));
      if (m->health.act && !m->exited) {
        m->health.act = false;
        kill(m->pid, SIGKILL);
      }
    }
    if (m->exited && !exit_at) {
      exit_at = clock_us(CLOCK_MONOTONIC);
      release_console(m);
    }
  }
  health_disarm(&m->health);
  logw_flush(&m->log);
  abandon(m);
  return 0;
}

/* The end of the monitor: log closed, root unmounted, the container
 * removed for --rm, then the exit code to the clients. */
static void finish(struct mon *m)
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
  broadcast(m, 'X', code, (size_t)n);
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
  watch(&m, m.sfd, T_SIG, EPOLLIN);

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
    report(&m, EXIT_ENGINE, err);
    err_free(&err);
    return;
  }
  fcntl(m.lfd, F_SETFL, O_NONBLOCK);
  watch(&m, m.lfd, T_LISTEN, EPOLLIN);
  m.rundir_fd = open(c->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_json_ json_t *img = bundle_image_config(c);
  health_init(&m.health, c, json_object_get(cfg, "Healthcheck") ? json_object_get(cfg, "Healthcheck")
                                                                 : json_object_get(img, "Healthcheck"),
              m.ep, T_HTIMER, T_HOUT);
  json_object_set_new(c->state, "MonitorPid", json_integer(getpid()));
  json_object_set_new(c->state, "MonitorStartTime", json_integer((json_int_t)proc_start_time(getpid())));
  json_object_set_new(c->state, "RestartCount", json_integer(0));

  int restarts = 0;
  int fail = run_once(&m, true, &err);
  if (fail) {
    json_object_set_new(c->state, "ExitCode", json_integer(fail));
    json_object_set_new(c->state, "Error", json_string(err ? err_msg(err) : "cannot start"));
    /* MonitorPid stays: until this process is gone, rm and start wait for
     * the clean-up below (a dead monitor's pid reads as none) */
    set_state(&m, "created");
    /* clean up before the report: `run --rm` returns to a clean host */
    finish(&m);
    report(&m, fail, err);
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
    set_state(&m, "restarting");
    /* Docker's back-off: 100 ms doubling, up to a minute */
    uint64_t delay_ms = 100ull << (restarts < 10 ? restarts : 10);
    if (delay_ms > 60000)
      delay_ms = 60000;
    for (uint64_t waited = 0; waited < delay_ms && !monitor_manually_stopped(c); waited += 50) {
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
      int cl;
      while ((cl = accept4(m.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        add_client(&m, cl);
    }
    if (monitor_manually_stopped(c))
      break;
    restarts++;
    json_object_set_new(c->state, "RestartCount", json_integer(restarts));
    engine_event("container", "restart", c->id, json_pack("{ss}", "name", ctr_name(c)));
    fail = run_once(&m, false, &err);
    if (fail) {
      json_object_set_new(c->state, "ExitCode", json_integer(fail));
      json_object_set_new(c->state, "Error", json_string(err ? err_msg(err) : "cannot restart"));
      err_free(&err);
      break;
    }
  }
  json_object_set_new(c->state, "Pid", json_integer(0));
  set_state(&m, "exited"); /* MonitorPid stays, as above */
  finish(&m);
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

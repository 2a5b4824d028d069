/* The agent: one forked handler per host connection runs one command and
 * relays its stdio as frames (proto.h); PID 1 accepts connections, reaps
 * every child (orphans included) and returns when asked to power off. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/vm_sockets.h>

#include "init.h"
#include "proto.h"

#define POWEROFF_STATUS 250 /* a handler's exit status meaning "power off" */
#define STDIN_MAX (1 << 20)

static int read_full(int fd, void *buf, size_t n)
{
  for (size_t done = 0; done < n;) {
    ssize_t r = read(fd, (char *)buf + done, n - done);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    done += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
  for (size_t done = 0; done < n;) {
    ssize_t r = write(fd, (const char *)buf + done, n - done);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    done += (size_t)r;
  }
  return 0;
}

static int send_frame(int fd, uint8_t type, const void *p, uint32_t len)
{
  uint8_t h[5] = {type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  return write_full(fd, h, 5) < 0 || write_full(fd, p, len) < 0 ? -1 : 0;
}

static int send_u32(int fd, uint8_t type, uint32_t v)
{
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  return send_frame(fd, type, b, 4);
}

/* The end of a connection once the answer ('X') is sent.  The host may
 * still be sending: stdin the command never read, or the rest of a request
 * refused after its first frame.  Closing with that data unread would reset
 * the connection (TCP and vsock send RST, which can discard the answer
 * still in the host's receive queue; a Unix socket fails the host's next
 * write with EPIPE).  So half-close, which the host reads as EOF after 'X',
 * and read and drop whatever comes until the host closes its end. */
static void finish(int conn)
{
  char buf[65536];
  shutdown(conn, SHUT_WR);
  for (;;) {
    ssize_t n = read(conn, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
  }
}

/* One frame; *payload is malloc'd (NUL-terminated).  -1 on EOF or a bad
 * length. */
static int recv_frame(int fd, uint8_t *type, char **payload, uint32_t *len)
{
  uint8_t h[5];
  if (read_full(fd, h, 5) < 0)
    return -1;
  *type = h[0];
  *len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
  if (*len > FRAME_MAX)
    return -1;
  *payload = malloc(*len + 1);
  if (!*payload || read_full(fd, *payload, *len) < 0) {
    free(*payload);
    return -1;
  }
  (*payload)[*len] = 0;
  return 0;
}

static void fail(int conn, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(int conn, int status, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  send_frame(conn, MSG_FAIL, msg, (uint32_t)strlen(msg));
  send_u32(conn, MSG_EXIT, (uint32_t)status);
  finish(conn);
}

/* A NULL-terminated array of the strings in JSON array `a`, or NULL. */
static char **strings(json_t *a)
{
  if (!json_is_array(a))
    return NULL;
  size_t n = json_array_size(a);
  char **v = calloc(n + 1, sizeof(*v));
  for (size_t i = 0; v && i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (!s) {
      free(v);
      return NULL;
    }
    v[i] = (char *)s;
  }
  return v;
}

struct request {
  json_t *root;
  char **args, **env;
  const char *cwd;
  uid_t uid;
  gid_t gid;
};

static int parse_request(const char *text, struct request *r, char *why, size_t whylen)
{
  json_error_t je;
  memset(r, 0, sizeof(*r));
  r->root = json_loads(text, 0, &je);
  if (!json_is_object(r->root)) {
    snprintf(why, whylen, "the exec request is not a JSON object (line %d: %s)", je.line, je.text);
    return -1;
  }
  r->args = strings(json_object_get(r->root, "args"));
  if (!r->args || !r->args[0]) {
    snprintf(why, whylen, "the exec request needs \"args\": a non-empty array of strings");
    return -1;
  }
  json_t *env = json_object_get(r->root, "env");
  r->env = env ? strings(env) : calloc(1, sizeof(char *));
  if (!r->env) {
    snprintf(why, whylen, "\"env\" must be an array of \"KEY=VALUE\" strings");
    return -1;
  }
  r->cwd = json_string_value(json_object_get(r->root, "cwd"));
  r->uid = (uid_t)json_integer_value(json_object_get(r->root, "uid"));
  r->gid = (gid_t)json_integer_value(json_object_get(r->root, "gid"));
  return 0;
}

/* The command's side of the fork: never returns.  An exec failure goes
 * back as an errno on `err_fd` (close-on-exec: silence means it ran). */
static void run_child(const struct request *r, int in, int out, int errfd, int err_fd)
{
  signal(SIGPIPE, SIG_DFL); /* the handler's SIG_IGN is not the command's */
  dup2(in, 0);
  dup2(out, 1);
  dup2(errfd, 2);
  int e = 0;
  if ((r->gid && setgid(r->gid) < 0) || (r->uid && setuid(r->uid) < 0) ||
      (r->cwd && chdir(r->cwd) < 0))
    e = errno;
  if (!e) {
    for (char **kv = r->env; *kv; kv++)
      if (!strncmp(*kv, "PATH=", 5))
        setenv("PATH", *kv + 5, 1); /* execvpe searches the caller's PATH */
    execvpe(r->args[0], r->args, r->env);
    e = errno;
  }
  if (write(err_fd, &e, sizeof(e)) < 0)
    _exit(127);
  _exit(127);
}

static int status_of(int ws)
{
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Relay stdio until the command ends and its output is drained. */
static int relay(int conn, pid_t pid, int in, int out, int errfd)
{
  char *pending = NULL;
  size_t npending = 0;
  bool in_closing = false;
  int fds_open = 2;
  while (fds_open > 0) {
    struct pollfd p[4] = {{conn, POLLIN, 0}, {out, POLLIN, 0}, {errfd, POLLIN, 0},
                          {npending ? in : -1, POLLOUT, 0}};
    if (npending > STDIN_MAX || conn < 0)
      p[0].fd = -1;
    if (poll(p, 4, -1) < 0 && errno != EINTR)
      break;
    for (int i = 1; i <= 2; i++) {
      if (!p[i].revents || p[i].fd < 0)
        continue;
      char buf[65536];
      ssize_t n = read(p[i].fd, buf, sizeof(buf));
      if (n > 0) {
        send_frame(conn, i == 1 ? MSG_STDOUT : MSG_STDERR, buf, (uint32_t)n);
      } else {
        close(i == 1 ? out : errfd);
        if (i == 1)
          out = -1;
        else
          errfd = -1;
        fds_open--;
      }
    }
    if (p[3].revents & (POLLOUT | POLLERR)) {
      ssize_t n = write(in, pending, npending);
      if (n > 0) {
        memmove(pending, pending + n, npending - (size_t)n);
        npending -= (size_t)n;
      } else if (n < 0 && errno != EAGAIN) {
        npending = 0; /* the command closed its stdin */
      }
    }
    if (in >= 0 && in_closing && !npending) {
      close(in);
      in = -1;
    }
    if (p[0].revents) {
      uint8_t type;
      char *payload;
      uint32_t len;
      if (recv_frame(conn, &type, &payload, &len) < 0) {
        kill(pid, SIGKILL); /* the host went away: so does its command */
        conn = -1;
        continue;
      }
      if (type == MSG_STDIN && len == 0) {
        in_closing = true;
      } else if (type == MSG_STDIN && in >= 0) {
        pending = realloc(pending, npending + len);
        memcpy(pending + npending, payload, len);
        npending += len;
      } else if (type == MSG_SIGNAL && len == 4) {
        uint8_t *b = (uint8_t *)payload;
        kill(pid, (int)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]));
      }
      free(payload);
      if (in >= 0 && in_closing && !npending) {
        close(in);
        in = -1;
      }
    }
  }
  free(pending);
  if (in >= 0)
    close(in);
  int ws;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (conn >= 0) {
    send_u32(conn, MSG_EXIT, (uint32_t)status_of(ws));
    finish(conn);
  }
  return 0;
}

static int handle(int conn)
{
  uint8_t type;
  char *payload;
  uint32_t len;
  if (recv_frame(conn, &type, &payload, &len) < 0)
    return 1;
  if (type == MSG_POWEROFF)
    return POWEROFF_STATUS;
  struct request r;
  char why[256];
  if (type != MSG_EXEC || parse_request(payload, &r, why, sizeof(why)) < 0) {
    fail(conn, 125, "%s", type != MSG_EXEC ? "the first frame must be an exec request ('E')" : why);
    return 1;
  }
  int in[2], out[2], err[2], ex[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
      pipe2(ex, O_CLOEXEC) < 0) {
    fail(conn, 125, "cannot create pipes: %s", strerror(errno));
    return 1;
  }
  pid_t pid = fork();
  if (pid == 0)
    run_child(&r, in[0], out[1], err[1], ex[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(ex[1]);
  int e = 0;
  if (pid < 0 || read(ex[0], &e, sizeof(e)) == sizeof(e)) {
    if (pid < 0)
      e = errno;
    waitpid(pid, NULL, 0);
    fail(conn, e == ENOENT ? 127 : 126, "cannot run `%s`: %s", r.args[0], strerror(e));
    return 1;
  }
  close(ex[0]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  return relay(conn, pid, in[1], out[0], err[0]);
}

int agent_listen_vsock(unsigned port)
{
  struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
    say("cannot listen on vsock port %u: %s", port, strerror(errno));
    return -1;
  }
  return fd;
}

int agent_listen_unix(const char *path)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  unlink(path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
    say("cannot listen on %s: %s", path, strerror(errno));
    return -1;
  }
  return fd;
}

void agent_serve(int lfd)
{
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  for (;;) {
    struct pollfd p[2] = {{lfd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      return;
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
      }
      int ws;
      pid_t pid;
      while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
        if (WIFEXITED(ws) && WEXITSTATUS(ws) == POWEROFF_STATUS) {
          close(sfd);
          return;
        }
    }
    if (p[0].revents) {
      int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0)
        continue;
      pid_t pid = fork();
      if (pid == 0) {
        close(lfd);
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        /* A command that exits with stdin unread, or a host that has gone,
         * is EPIPE on a write: not a death that loses the exit status and
         * leaves the command running. */
        signal(SIGPIPE, SIG_IGN);
        _exit(handle(conn));
      }
      close(conn);
    }
  }
}

/* The attach protocol and its client side (attach.h). */
#include "engine/monitor/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

static int read_full(int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0 && got == 0 ? 0 : -1;
    got += (size_t)n;
  }
  return 1;
}

int attach_send(int fd, char type, const void *data, size_t len)
{
  unsigned char hdr[5] = {(unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8), (unsigned char)len};
  struct iovec iov[2] = {{hdr, 5}, {(void *)data, len}};
  size_t total = 5 + len, done = 0;
  while (done < total) {
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    done += (size_t)n;
    /* advance the iovecs past what went */
    size_t adv = (size_t)n;
    for (int i = 0; i < 2; i++) {
      size_t take = adv < iov[i].iov_len ? adv : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + take;
      iov[i].iov_len -= take;
      adv -= take;
    }
  }
  return 0;
}

int attach_recv(int fd, char *type, char **data, size_t *len)
{
  unsigned char hdr[5];
  int r = read_full(fd, hdr, 5);
  if (r <= 0)
    return r;
  size_t n = (size_t)hdr[1] << 24 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 8 | hdr[4];
  if (n > ATTACH_MAX_FRAME)
    return -1;
  char *buf = malloc(n + 1);
  if (!buf)
    return -1;
  if (n && read_full(fd, buf, n) != 1) {
    free(buf);
    return -1;
  }
  buf[n] = 0;
  *type = (char)hdr[0];
  *data = buf;
  *len = n;
  return 1;
}

static int sock_at(const char *dir, const char *name, bool listen_it, err_t *err)
{
  _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return err_sys(err, "cannot open `%s`", dir);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dfd, name);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return err_sys(err, "socket");
  if (listen_it) {
    unlink(a.sun_path);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
      close(fd);
      return err_sys(err, "cannot listen on `%s/%s`", dir, name);
    }
  } else if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return err_sys(err, "cannot connect to the container's monitor (`%s/%s`)", dir, name);
  }
  return fd;
}

int attach_listen(const char *dir, const char *name, err_t *err)
{
  return sock_at(dir, name, true, err);
}

int attach_connect(const char *dir, const char *name, err_t *err)
{
  return sock_at(dir, name, false, err);
}

static void send_winsize(int fd)
{
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
    char b[32];
    int n = snprintf(b, sizeof b, "%u %u", ws.ws_row, ws.ws_col);
    attach_send(fd, 'W', b, (size_t)n);
  }
}

int attach_session(int fd, const struct attach_opts *o, int *exit_code, err_t *err)
{
  struct termios saved;
  bool raw = false;
  if (o->tty && isatty(0) && tcgetattr(0, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    raw = tcsetattr(0, TCSANOW, &t) == 0;
  }
  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGWINCH);
  if (o->sig_proxy && !o->tty) {
    static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof proxied / sizeof proxied[0]; i++)
      sigaddset(&mask, proxied[i]);
  }
  sigprocmask(SIG_BLOCK, &mask, &old);
  _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (o->tty)
    send_winsize(fd);
  bool in_open = o->stdin_open;
  pid_t pid = 0;
  int r = -1, prev = -1;
  *exit_code = -1;
  for (;;) {
    struct pollfd p[3] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      err_sys(err, "poll");
      break;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGWINCH)
          send_winsize(fd);
        else if (pid > 0)
          kill(pid, (int)si.ssi_signo);
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[32768];
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) {
        attach_send(fd, 'I', "", 0);
        in_open = false;
      } else {
        if (raw) {
          /* ctrl-p ctrl-q detaches, as in Docker */
          for (ssize_t i = 0; i < n; i++) {
            if (prev == 0x10 && buf[i] == 0x11) {
              r = 1;
              goto out;
            }
            prev = (unsigned char)buf[i];
          }
        }
        attach_send(fd, 'I', buf, (size_t)n);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char type;
      char *data;
      size_t len;
      int g = attach_recv(fd, &type, &data, &len);
      if (g <= 0) {
        /* the monitor went away without a status */
        r = 0;
        break;
      }
      if (type == 'O' || type == 'E')
        fd_write_all(type == 'O' ? 1 : 2, data, len, NULL);
      else if (type == 'P')
        pid = (pid_t)atoi(data);
      else if (type == 'X') {
        *exit_code = atoi(data);
        free(data);
        r = 0;
        break;
      }
      free(data);
    }
  }
out:
  if (raw)
    tcsetattr(0, TCSANOW, &saved);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r;
}

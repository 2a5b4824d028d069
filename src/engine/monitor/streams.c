/* The monitor's streams: the container's stdio (pipes or a pty), its
 * pending input and the attach clients it is copied to and from. */
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
#include "engine/monitor/logfile.h"
#include "engine/monitor/mon.h"

void mon_broadcast(struct mon *m, char type, const void *data, size_t len)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i] >= 0 && attach_send(m->clients[i], type, data, len) < 0) {
      close(m->clients[i]);
      m->clients[i] = -1;
    }
}

void mon_add_client(struct mon *m, int fd)
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

void mon_watch(struct mon *m, int fd, enum tag t, uint32_t events)
{
  struct epoll_event ev = {.events = events, .data.u64 = t};
  epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev);
}

void mon_close_fd(struct mon *m, int *fd)
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
void mon_hold_console(struct mon *m)
{
  m->tty_peer = ioctl(m->tty_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

void mon_release_console(struct mon *m)
{
  if (m->tty_peer >= 0)
    close(m->tty_peer);
  m->tty_peer = -1;
}

/* The container's side of one run: its stdio and pending input. */
void mon_close_stdio(struct mon *m)
{
  mon_close_fd(m, &m->out_r);
  mon_close_fd(m, &m->err_r);
  mon_close_fd(m, &m->tty_fd);
  mon_release_console(m);
  mon_close_fd(m, &m->in_w);
  free(m->inbuf);
  m->inbuf = NULL;
  m->inlen = 0;
}

void mon_flush_stdin(struct mon *m)
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
      mon_close_fd(m, &m->in_w);
  }
}

void mon_client_input(struct mon *m, int i)
{
  char type;
  char *data;
  size_t len;
  if (attach_recv(m->clients[i], &type, &data, &len) <= 0) {
    mon_close_fd(m, &m->clients[i]);
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
    mon_flush_stdin(m);
  } else if (type == 'W' && m->tty_fd >= 0) {
    unsigned rows, cols;
    if (sscanf(data, "%u %u", &rows, &cols) == 2) {
      struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
      ioctl(m->tty_fd, TIOCSWINSZ, &ws);
    }
  }
  free(data);
}

void mon_on_output(struct mon *m, int *fd, int stream)
{
  char buf[32768];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    mon_close_fd(m, fd);
    return;
  }
  logw_write(&m->log, stream, buf, (size_t)n);
  mon_broadcast(m, stream ? 'E' : 'O', buf, (size_t)n);
}

/* The terminal's output.  A getty in the container hangs the console up
 * (vhangup), our fd on it too: the master then reads EIO while the
 * container runs on.  Take a fresh fd on the slave rather than end the
 * output there. */
void mon_on_tty(struct mon *m)
{
  char buf[32768];
  ssize_t n = read(m->tty_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n < 0 && errno == EIO && !m->exited && m->tty_peer >= 0) {
    mon_release_console(m);
    mon_hold_console(m);
    if (m->tty_peer >= 0)
      return;
  }
  if (n <= 0) {
    mon_close_fd(m, &m->tty_fd);
    return;
  }
  logw_write(&m->log, 0, buf, (size_t)n);
  mon_broadcast(m, 'O', buf, (size_t)n);
}

/* Stdio for one run of the container: pipes, or a pty by console socket. */
int mon_setup_stdio(struct mon *m, int fds[3], int *console_lfd)
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

int mon_accept_one(int lfd, int timeout_ms)
{
  struct pollfd p = {lfd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0)
    return -1;
  return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

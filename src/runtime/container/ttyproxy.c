#include "runtime/container/ttyproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "common/file.h"
#include "runtime/container/container.h"

int tty_socketpair(int *ours, int *theirs, err_t *err)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return err_sys(err, "socketpair for the terminal");
  *ours = sv[0];
  *theirs = sv[1];
  return 0;
}

int tty_receive(int sock, err_t *err)
{
  char name[128];
  int fd;
  ssize_t n = fd_recv(sock, name, sizeof(name), MSG_DONTWAIT, &fd);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return err_make(err, ENOMSG, "the container sent no terminal");
  if (n < 0)
    return err_sys(err, "cannot receive the terminal");
  if (fd < 0)
    return err_make(err, EPROTO, "the container's terminal message carried no fd");
  return fd;
}

static void copy_winsize(int from, int to)
{
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    ioctl(to, TIOCSWINSZ, &ws);
}

/* Move what is readable on `from` to `to`: 1 moved, 0 nothing to move now,
 * -1 at EOF or on an error. */
static int pump(int from, int to)
{
  char buf[8192];
  ssize_t n = read(from, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0)
    return -1;
  return fd_write_all(to, buf, (size_t)n, NULL) == 0 ? 1 : -1;
}

int tty_proxy_wait(int master, pid_t pid)
{
  struct termios saved;
  bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    t.c_oflag |= OPOST; /* keep our own stdout's newline handling */
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    copy_winsize(STDIN_FILENO, master);
  }
  forward_signals(pid, true);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  struct pollfd p[3] = {
      {.fd = master, .events = POLLIN},
      {.fd = STDIN_FILENO, .events = POLLIN},
      {.fd = pidfd, .events = POLLIN},
  };
  for (;;) {
    if (forward_winch_seen() && raw)
      copy_winsize(STDIN_FILENO, master);
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (pump(master, STDOUT_FILENO) < 0)
        break; /* EIO: every slave fd is closed */
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (pump(STDIN_FILENO, master) < 0)
        p[1].fd = -1; /* stdin ended: stop reading it, keep the output */
    }
    if (p[2].revents & POLLIN) {
      /* The process is gone; take what it left in the pty and stop even if
       * something it started still holds the slave. */
      fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
      while (pump(master, STDOUT_FILENO) > 0)
        ;
      break;
    }
  }
  if (pidfd >= 0)
    close(pidfd);
  close(master);
  if (raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return wait_reaping(pid);
}

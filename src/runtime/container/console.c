#include "runtime/container/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdpass.h"

int console_connect(const char *path, err_t *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return err_make(err, ENAMETOOLONG, "--console-socket: path `%s` is too long", path);
  strcpy(sa.sun_path, path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return err_sys(err, "--console-socket: socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return err_sys(err, "--console-socket: cannot connect to `%s`", path);
  return steal_fd(&fd);
}

int send_fd(int sock, int fd, const char *name, err_t *err)
{
  if (fd_send(sock, name, strlen(name), fd) < 0)
    return err_sys(err, "cannot send the terminal over the console socket");
  return 0;
}

int console_setup(int sock, uint32_t rows, uint32_t cols, int console_bind, err_t *err)
{
  _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return err_sys(err, "cannot open /dev/ptmx in the container (is /dev/pts mounted?)");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return err_sys(err, "cannot unlock the pty");
  int n = 0;
  if (ioctl(master, TIOCGPTN, &n) < 0)
    return err_sys(err, "cannot get the pty number");
  /* TIOCGPTPEER opens the slave of this very master without a path lookup
   * that the container's /dev/pts could redirect. */
  _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0)
    return err_sys(err, "cannot open the pty slave");
  if (rows && cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  char name[64];
  snprintf(name, sizeof(name), "/dev/pts/%d", n);
  if (console_bind) {
    int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOCTTY | O_CLOEXEC, 0600);
    if (f >= 0)
      close(f);
    if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
      return err_sys(err, "cannot bind the terminal on /dev/console");
  }
  if (send_fd(sock, master, name, err) < 0)
    return -1;
  if (setsid() < 0 && errno != EPERM)
    return err_sys(err, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return err_sys(err, "cannot make the pty the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return err_sys(err, "cannot attach the pty to fd %d", i);
  return 0;
}

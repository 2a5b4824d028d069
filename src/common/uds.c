#include "common/uds.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool stale(const struct sockaddr_un *sa)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool refused = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno == ECONNREFUSED;
  close(fd);
  return refused;
}

int uds_listen(const char *path, const char *what, err_t *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return err_make(err, ENAMETOOLONG, "%s path `%s` is longer than %zu bytes", what, path,
                    sizeof(sa.sun_path) - 1);
  memcpy(sa.sun_path, path, strlen(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return err_sys(err, "cannot create the %s", what);
  if (access(path, F_OK) == 0 && stale(&sa))
    unlink(path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return err_sys(err, "cannot create %s `%s`%s", what, path,
                   e == EADDRINUSE ? " (another VM uses it)" : "");
  }
  if (listen(fd, 64) < 0) {
    err_sys(err, "cannot listen on %s `%s`", what, path);
    close(fd);
    unlink(path);
    return -1;
  }
  return fd;
}

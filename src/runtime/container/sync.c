#include "runtime/container/sync.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdpass.h"

static int send_msg(int fd, enum sync_type type, int value, int passfd, err_t *err)
{
  struct sync_msg m = {.type = type, .value = value};
  if (fd_send(fd, &m, offsetof(struct sync_msg, text), passfd) < 0)
    return err_sys(err, "cannot talk to the container process");
  return 0;
}

int sync_send_fd(int fd, enum sync_type type, int passfd, err_t *err)
{
  return send_msg(fd, type, 0, passfd, err);
}

int sync_send(int fd, enum sync_type type, int value, err_t *err)
{
  return send_msg(fd, type, value, -1, err);
}

void sync_send_error(int fd, const err_t e)
{
  struct sync_msg m = {.type = SYNC_ERROR, .errnum = err_errnum(e)};
  snprintf(m.text, sizeof(m.text), "%s", e ? err_msg(e) : "unknown error");
  send(fd, &m, offsetof(struct sync_msg, text) + strlen(m.text) + 1, MSG_NOSIGNAL);
}

int sync_recv_fd(int fd, enum sync_type expect, int *value, int *passfd, err_t *err)
{
  struct sync_msg m;
  int got;
  ssize_t n = fd_recv(fd, &m, sizeof(m) - 1, 0, &got);
  if (n < 0)
    return err_sys(err, "cannot hear from the container process");
  if (passfd)
    *passfd = got;
  else if (got >= 0)
    close(got);
  if (n == 0)
    return err_make(err, EPIPE, "the container process exited during setup");
  if ((size_t)n < offsetof(struct sync_msg, text))
    return err_make(err, EPROTO, "short message from the container process");
  if (m.type == SYNC_ERROR) {
    ((char *)&m)[n] = '\0';
    return err_make(err, m.errnum, "%s", m.text);
  }
  if (m.type != (int)expect)
    return err_make(err, EPROTO, "unexpected message %d from the container process (wanted %d)",
                    m.type, expect);
  if (value)
    *value = m.value;
  return 0;
}

int sync_recv(int fd, enum sync_type expect, int *value, err_t *err)
{
  return sync_recv_fd(fd, expect, value, NULL, err);
}

#include "vmm/virtio/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

static void on_conn(void *ctx, uint32_t events);

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd, enum conn_state state)
{
  struct vsock_conn *c = calloc(1, sizeof(*c));
  err_t e = NULL;
  if (!c) {
    close(fd);
    return NULL;
  }
  c->v = v;
  c->fd = fd;
  c->state = state;
  if (evloop_add(v->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, on_conn, c, &e) < 0) {
    log_warn("virtio-vsock: %s", err_msg(e));
    err_free(&e);
    close(fd);
    free(c);
    return NULL;
  }
  c->next = v->conns;
  v->conns = c;
  v->conns_opened++;
  return c;
}

void vsock_conn_close(struct vsock_conn *c)
{
  struct virtio_vsock *v = c->v;
  for (struct vsock_conn **p = &v->conns; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  evloop_remove(v->loop, c->fd);
  close(c->fd);
  free(c->buf);
  free(c);
}

void vsock_conn_close_all(struct virtio_vsock *v)
{
  while (v->conns)
    vsock_conn_close(v->conns);
}

struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
  for (struct vsock_conn *c = v->conns; c; c = c->next)
    if (c->state != CONN_LINE && c->local_port == local && c->peer_port == peer)
      return c;
  return NULL;
}

int vsock_conn_established(struct vsock_conn *c)
{
  c->state = CONN_ESTABLISHED;
  c->readable = true; /* edge-triggered: what arrived before counts too */
  c->buf = malloc(VSOCK_BUF_ALLOC);
  if (c->buf)
    return 0;
  vsock_ctrl(c->v, NULL, c->local_port, c->peer_port, VSOCK_OP_RST, 0);
  vsock_conn_close(c);
  return -1;
}

struct vsock_conn *vsock_conn_guest_connect(struct virtio_vsock *v, uint32_t port, uint32_t peer)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds, port);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && (n >= (int)sizeof(sa.sun_path) ||
                  connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)) {
    log_debug("virtio-vsock: guest port %u → host port %u: nobody listens on %s (%s)", peer,
              port, sa.sun_path, strerror(errno));
    close(fd);
    fd = -1;
  }
  struct vsock_conn *c = fd >= 0 ? conn_new(v, fd, CONN_ESTABLISHED) : NULL;
  if (!c) {
    vsock_ctrl(v, NULL, port, peer, VSOCK_OP_RST, 0);
    return NULL;
  }
  c->local_port = port;
  c->peer_port = peer;
  if (vsock_conn_established(c) < 0)
    return NULL;
  vsock_ctrl(v, c, port, peer, VSOCK_OP_RESPONSE, 0);
  return c;
}

/* Tell the guest about freed buffer space once a quarter of it is free
 * again, or all of it: a sender out of credit waits for this. */
static void credit(struct vsock_conn *c)
{
  uint32_t unsent = c->fwd_cnt - c->fwd_sent;
  if (unsent && (unsent >= VSOCK_BUF_ALLOC / 4 || c->buf_len == 0))
    vsock_ctrl(c->v, c, c->local_port, c->peer_port, VSOCK_OP_CREDIT_UPDATE, 0);
}

/* Returns -1 when the socket is gone (the connection is reset). */
static int flush(struct vsock_conn *c)
{
  size_t off = 0;
  while (off < c->buf_len) {
    ssize_t n = send(c->fd, c->buf + off, c->buf_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n < 0)
      return -1;
    off += (size_t)n;
    c->fwd_cnt += (uint32_t)n;
  }
  memmove(c->buf, c->buf + off, c->buf_len - off);
  c->buf_len -= off;
  if (c->buf_len == 0 && c->shut_wr)
    shutdown(c->fd, SHUT_WR);
  credit(c);
  return 0;
}

static void reset_conn(struct vsock_conn *c)
{
  vsock_ctrl(c->v, NULL, c->local_port, c->peer_port, VSOCK_OP_RST, 0);
  vsock_conn_close(c);
}

int vsock_conn_write(struct vsock_conn *c, const uint8_t *data, uint32_t len)
{
  if (len > VSOCK_BUF_ALLOC - c->buf_len) {
    log_warn("virtio-vsock: the guest sent past its credit on port %u; resetting", c->peer_port);
    reset_conn(c);
    return -1;
  }
  memcpy(c->buf + c->buf_len, data, len);
  c->buf_len += len;
  if (flush(c) < 0) {
    reset_conn(c);
    return -1;
  }
  return 0;
}

void vsock_conn_shutdown(struct vsock_conn *c, uint32_t flags)
{
  if ((flags & VSOCK_SHUTDOWN_RCV) && (flags & VSOCK_SHUTDOWN_SEND)) {
    /* The guest closed: flush what we can, then end the connection (§5.10.6.5:
     * the peer answers a full shutdown with RST). */
    flush(c);
    reset_conn(c);
    return;
  }
  if (flags & VSOCK_SHUTDOWN_SEND) {
    c->shut_wr = true;
    flush(c);
  }
}

/* "CONNECT <port>\n", read without taking a byte of the stream after it. */
static void read_line(struct vsock_conn *c)
{
  struct virtio_vsock *v = c->v;
  for (;;) {
    char ch;
    ssize_t n = recv(c->fd, &ch, 1, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0 || c->line_len == sizeof(c->line) - 1) {
      vsock_conn_close(c);
      return;
    }
    if (ch != '\n') {
      c->line[c->line_len++] = ch;
      continue;
    }
    c->line[c->line_len] = 0;
    char *end;
    unsigned long port = strtoul(c->line + 8, &end, 10);
    if (strncmp(c->line, "CONNECT ", 8) || end == c->line + 8 || *end || port > UINT32_MAX) {
      log_debug("virtio-vsock: a host client sent `%s`, not `CONNECT <port>`", c->line);
      vsock_conn_close(c);
      return;
    }
    c->local_port = v->next_port++;
    c->peer_port = (uint32_t)port;
    c->state = CONN_CONNECTING;
    vsock_ctrl(v, c, c->local_port, c->peer_port, VSOCK_OP_REQUEST, 0);
    vsock_rx(v);
    return;
  }
}

static void on_conn(void *ctx, uint32_t events)
{
  struct vsock_conn *c = ctx;
  struct virtio_vsock *v = c->v;
  if (vsock_sync_gen(v))
    return; /* c is gone with the others */
  if (c->state == CONN_LINE) {
    read_line(c);
    return;
  }
  if (c->state != CONN_ESTABLISHED) {
    if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
      vsock_ctrl(v, NULL, c->local_port, c->peer_port, VSOCK_OP_RST, 0);
      vsock_conn_close(c);
      vsock_rx(v);
    }
    return;
  }
  if ((events & EPOLLOUT) && c->buf_len && flush(c) < 0) {
    reset_conn(c);
    vsock_rx(v);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
    c->readable = true;
  vsock_rx(v);
}

void virtio_vsock_on_listen(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_vsock *v = ctx;
  for (;;) {
    int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    struct vsock_conn *c = conn_new(v, fd, CONN_LINE);
    if (c)
      read_line(c);
  }
}

#include "vmm/virtio/console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/uds.h"

enum { RXQ = 0, TXQ = 1 };
#define F_EMERG_WRITE (1ULL << 2)

static void drop_client(struct virtio_console *c)
{
  if (c->client_fd < 0)
    return;
  evloop_remove(c->loop, c->client_fd);
  close(c->client_fd);
  c->client_fd = -1;
  c->readable = false;
}

/* Host → guest: straight from the socket into the guest's buffers. */
static void receive(struct virtio_console *c)
{
  struct virtio_mmio *m = c->m;
  while (c->readable && c->client_fd >= 0) {
    struct virtq_req req;
    if (virtio_mmio_pop(m, RXQ, &req) != 1)
      return;
    struct iovec iov[VIRTQ_MAX_SEGS];
    int n = virtq_req_iov(m->gm, &req, true, 0, req.writable, iov, VIRTQ_MAX_SEGS);
    ssize_t got = n > 0 ? readv(c->client_fd, iov, n) : -1;
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
      virtio_mmio_unpop(m, RXQ, 1);
      c->readable = false;
      return;
    }
    virtio_mmio_push(m, RXQ, &req, got > 0 ? (uint32_t)got : 0);
    if (got <= 0) {
      drop_client(c); /* the client hung up: the next one may connect */
      return;
    }
    c->rx_bytes += (uint64_t)got;
  }
}

/* Guest → host: to the client, or nowhere without one. */
static void transmit(struct virtio_console *c)
{
  struct virtio_mmio *m = c->m;
  struct virtq_req req;
  while (virtio_mmio_pop(m, TXQ, &req) == 1) {
    struct iovec iov[VIRTQ_MAX_SEGS];
    int n = virtq_req_iov(m->gm, &req, false, 0, req.readable, iov, VIRTQ_MAX_SEGS);
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n > 0 ? (size_t)n : 0};
    if (c->client_fd < 0 || n <= 0 || sendmsg(c->client_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
      c->tx_dropped += req.readable;
    else
      c->tx_bytes += req.readable;
    virtio_mmio_push(m, TXQ, &req, 0);
  }
}

static void notify(void *dev, struct virtio_mmio *m, int queue)
{
  struct virtio_console *c = dev;
  (void)m;
  if (queue == TXQ)
    transmit(c);
  else
    receive(c);
}

static void on_client(void *ctx, uint32_t events)
{
  struct virtio_console *c = ctx;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
    c->readable = true;
  if (virtio_mmio_queue_live(c->m, RXQ))
    receive(c);
  else if (events & (EPOLLHUP | EPOLLERR))
    drop_client(c);
}

static void on_listen(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_console *c = ctx;
  int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  if (c->client_fd >= 0) {
    close(fd); /* one client at a time */
    return;
  }
  err_t e = NULL;
  if (evloop_add(c->loop, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, on_client, c, &e) < 0) {
    log_warn("virtio-console: %s", err_msg(e));
    err_free(&e);
    close(fd);
    return;
  }
  c->client_fd = fd;
  c->readable = true;
  receive(c);
}

static void config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  (void)dev;
  /* §5.3.4: cols, rows (unknown: 0), max_nr_ports 1, emerg_wr. */
  uint8_t cfg[12] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  if (off < sizeof(cfg))
    memcpy(data, cfg + off, off + len <= sizeof(cfg) ? len : sizeof(cfg) - off);
}

/* emerg_wr (§5.3.4): one character out at once, before any queue is set up
 * (a vCPU thread writes it, so it goes out without the device loop). */
static void config_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  struct virtio_console *c = dev;
  int fd = __atomic_load_n(&c->client_fd, __ATOMIC_ACQUIRE);
  if (off == 8 && len >= 1 && fd >= 0 && send(fd, data, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    c->tx_dropped++;
}

const struct virtio_dev_ops virtio_console_ops = {
    .name = "console",
    .device_id = 3,
    .features = VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC | F_EMERG_WRITE,
    .nqueues = 2,
    .queue_max = 256,
    .notify = notify,
    .config_read = config_read,
    .config_write = config_write,
};

int virtio_console_open(struct virtio_console *c, const char *path, struct evloop *loop,
                        err_t *err)
{
  memset(c, 0, sizeof(*c));
  c->listen_fd = c->client_fd = -1;
  c->loop = loop;
  if (strlen(path) >= sizeof(c->path))
    return err_make(err, ENAMETOOLONG, "console socket path `%s` is longer than %zu bytes", path,
                    sizeof(c->path) - 1);
  snprintf(c->path, sizeof(c->path), "%s", path);
  c->listen_fd = uds_listen(path, "console socket", err);
  if (c->listen_fd < 0)
    return -1;
  int r = evloop_add(loop, c->listen_fd, EPOLLIN, on_listen, c, err);
  if (r < 0)
    virtio_console_close(c);
  return r;
}

void virtio_console_close(struct virtio_console *c)
{
  drop_client(c);
  if (c->listen_fd >= 0) {
    evloop_remove(c->loop, c->listen_fd);
    close(c->listen_fd);
    unlink(c->path);
  }
  c->listen_fd = -1;
}

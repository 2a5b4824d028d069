#include "vmm/virtio/blkio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"

static int zero_mode(const struct blkio *b, enum blkio_op op)
{
  /* Punching a hole in a file reads back as zeroes and frees the space;
   * a block device zeroes its range in place. */
  if (op == BLKIO_ZERO && b->block_dev)
    return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
  return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
}

int blkio_open(struct blkio *b, int fd, bool block_dev, unsigned depth, bool want_uring,
               blkio_done_fn done, void *ctx, err_t *err)
{
  memset(b, 0, sizeof(*b));
  b->fd = fd;
  b->block_dev = block_dev;
  b->event_fd = -1;
  b->done = done;
  b->ctx = ctx;
  if (!want_uring)
    return 0;
  int r = io_uring_queue_init(depth, &b->ring, 0);
  if (r < 0) {
    log_info("io_uring is unavailable (%s): disk I/O is synchronous", strerror(-r));
    return 0;
  }
  b->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (b->event_fd < 0) {
    io_uring_queue_exit(&b->ring);
    return err_sys(err, "cannot create an eventfd for io_uring completions");
  }
  r = io_uring_register_eventfd(&b->ring, b->event_fd);
  if (r < 0) {
    io_uring_queue_exit(&b->ring);
    close(b->event_fd);
    b->event_fd = -1;
    errno = -r;
    return err_sys(err, "cannot register an eventfd with io_uring");
  }
  b->uring = true;
  return 0;
}

void blkio_close(struct blkio *b)
{
  if (b->uring) {
    io_uring_queue_exit(&b->ring); /* waits for what is in flight */
    b->uring = false;
  }
  if (b->event_fd >= 0)
    close(b->event_fd);
  b->event_fd = -1;
}

static int run_sync(const struct blkio *b, const struct blkio_req *r)
{
  ssize_t n;
  uint64_t done = 0;
  switch (r->op) {
  case BLKIO_READ:
  case BLKIO_WRITE: {
    /* Loop over short transfers: one iovec window at a time. */
    struct iovec iov[64];
    int niov = r->niov < 64 ? r->niov : 64;
    memcpy(iov, r->iov, sizeof(iov[0]) * (size_t)niov);
    int first = 0;
    while (done < r->len) {
      n = r->op == BLKIO_READ ? preadv(b->fd, iov + first, niov - first, (off_t)(r->off + done))
                              : pwritev(b->fd, iov + first, niov - first, (off_t)(r->off + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      if (n == 0)
        return -EIO; /* the image shrank under us */
      done += (uint64_t)n;
      while (first < niov && (size_t)n >= iov[first].iov_len)
        n -= (ssize_t)iov[first++].iov_len;
      if (first < niov) {
        iov[first].iov_base = (char *)iov[first].iov_base + n;
        iov[first].iov_len -= (size_t)n;
      }
    }
    return (int)done;
  }
  case BLKIO_FLUSH: return fdatasync(b->fd) < 0 ? -errno : 0;
  case BLKIO_DISCARD:
  case BLKIO_ZERO:
    return fallocate(b->fd, zero_mode(b, r->op), (off_t)r->off, (off_t)r->len) < 0 ? -errno : 0;
  }
  return -EINVAL;
}

int blkio_submit(struct blkio *b, const struct blkio_req *r)
{
  if (!b->uring) {
    b->done(b->ctx, r->tag, run_sync(b, r));
    return 0;
  }
  struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
  if (!sqe)
    return -1;
  switch (r->op) {
  case BLKIO_READ: io_uring_prep_readv(sqe, b->fd, r->iov, (unsigned)r->niov, r->off); break;
  case BLKIO_WRITE: io_uring_prep_writev(sqe, b->fd, r->iov, (unsigned)r->niov, r->off); break;
  case BLKIO_FLUSH: io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC); break;
  case BLKIO_DISCARD:
  case BLKIO_ZERO: io_uring_prep_fallocate(sqe, b->fd, zero_mode(b, r->op), r->off, r->len); break;
  }
  io_uring_sqe_set_data(sqe, r->tag);
  b->queued++;
  b->inflight++;
  return 0;
}

static void complete(struct blkio *b)
{
  struct io_uring_cqe *cqe;
  while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
    void *tag = io_uring_cqe_get_data(cqe);
    int res = cqe->res;
    io_uring_cqe_seen(&b->ring, cqe);
    b->inflight--;
    b->done(b->ctx, tag, res);
  }
}

void blkio_kick(struct blkio *b)
{
  if (b->uring && b->queued) {
    int r = io_uring_submit(&b->ring);
    if (r < 0)
      log_warn("io_uring submit failed: %s", strerror(-r));
    b->queued = 0;
    /* Reads of cached pages complete during the submit: answer them now
     * rather than after another trip through the event loop. */
    blkio_reap(b);
  }
}

/* The eventfd is reset before the ring is looked at: a completion posted
 * in between signals it again, so none waits unseen. */
void blkio_reap(struct blkio *b)
{
  if (!b->uring)
    return;
  uint64_t n;
  if (read(b->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
    log_warn("cannot read the io_uring eventfd: %s", strerror(errno));
  complete(b);
}

void blkio_drain(struct blkio *b)
{
  blkio_kick(b);
  while (b->uring && b->inflight) {
    struct io_uring_cqe *cqe;
    int r = io_uring_wait_cqe(&b->ring, &cqe);
    if (r < 0 && r != -EINTR) {
      log_warn("io_uring: cannot wait for %u requests in flight: %s", b->inflight, strerror(-r));
      return;
    }
    complete(b);
  }
}

/* Block I/O for virtio-blk: requests on a disk image through io_uring
 * (liburing), or synchronously with preadv/pwritev when io_uring is missing
 * or turned off.  Completions come back through one callback either way;
 * the synchronous backend calls it before blkio_submit() returns. */
#ifndef ISOLA_VMM_VIRTIO_BLKIO_H
#define ISOLA_VMM_VIRTIO_BLKIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include "common/err.h"

enum blkio_op { BLKIO_READ, BLKIO_WRITE, BLKIO_FLUSH, BLKIO_DISCARD, BLKIO_ZERO };

struct blkio_req {
  enum blkio_op op;
  const struct iovec *iov;
  int niov;
  uint64_t off, len; /* bytes */
  void *tag;
};

/* res: bytes transferred, 0 for flush/discard/zero, or -errno. */
typedef void (*blkio_done_fn)(void *ctx, void *tag, int res);

struct blkio {
  int fd;
  bool block_dev; /* a block device: zeroing uses ZERO_RANGE, files punch holes */
  bool uring;
  struct io_uring ring;
  int event_fd; /* signalled on io_uring completions; -1 when synchronous */
  unsigned queued;   /* prepared, not yet handed to the kernel */
  unsigned inflight; /* submitted, not yet completed */
  blkio_done_fn done;
  void *ctx;
};

/* want_uring false, or io_uring unavailable: the synchronous backend. */
int blkio_open(struct blkio *b, int fd, bool block_dev, unsigned depth, bool want_uring,
               blkio_done_fn done, void *ctx, err_t *err);
void blkio_close(struct blkio *b);
/* Queue one request (io_uring) or run it (sync); -1 only when the ring is
 * full, which the caller avoids by keeping no more than `depth` in flight. */
int blkio_submit(struct blkio *b, const struct blkio_req *r);
/* Hand what was queued to the kernel. */
void blkio_kick(struct blkio *b);
/* Run the completion callback for every finished request. */
void blkio_reap(struct blkio *b);
/* Submit what is queued and wait until every request completed (its
 * callback ran). */
void blkio_drain(struct blkio *b);

#endif

/* virtio-blk (virtio 1.2 §5.2): a raw disk image, read-only or not, with
 * flush, discard, write-zeroes and a serial (GET_ID).  Requests run on the
 * device loop through blkio (io_uring, or synchronous I/O). */
#ifndef ISOLA_VMM_VIRTIO_BLK_H
#define ISOLA_VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ratelimit.h"
#include "vmm/virtio/blkio.h"
#include "vmm/virtio/mmio.h"

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_QUEUE 256

struct blk_inflight;

struct virtio_blk {
  int fd;
  bool ro;
  uint64_t sectors;
  char id[VIRTIO_BLK_ID_BYTES + 1];
  struct blkio io;
  struct virtio_mmio *m;
  struct blk_inflight *slots, *free;
  struct ratelimit rl;
  uint64_t reads, writes, flushes, errors; /* metrics */
};

struct virtio_blk_config {
  const char *path;
  bool ro;
  const char *id;  /* NULL: made from the image's device and inode numbers */
  bool sync_io;    /* skip io_uring */
  struct ratelimit_config rate_limiter;
};

/* Opens and locks the image (shared for read-only, exclusive otherwise,
 * so two VMs cannot write one disk). */
int virtio_blk_open(struct virtio_blk *b, const struct virtio_blk_config *cfg, err_t *err);
/* The ops to put behind a transport (read-only disks offer F_RO); set
 * b->m to that transport before the guest runs. */
const struct virtio_dev_ops *virtio_blk_ops(const struct virtio_blk *b);
/* Put another image behind the disk (Firecracker's PATCH /drives/{id});
 * only while the device loop is paused (its quiesce hook finished the old
 * image's I/O).  The new one is opened and locked the same way, and the
 * guest is told its capacity may have changed. */
int virtio_blk_replace(struct virtio_blk *b, const char *path, err_t *err);
void virtio_blk_close(struct virtio_blk *b);
/* The io_uring completion eventfd for the device loop, or -1. */
int virtio_blk_event_fd(const struct virtio_blk *b);
void virtio_blk_on_event(void *ctx, uint32_t events);
/* The rate limiter's timer fired (device loop): serve what waited. */
void virtio_blk_on_timer(void *ctx, uint32_t events);
/* Device loop, before it parks: wait for every request in flight and
 * answer it. */
void virtio_blk_quiesce(void *ctx);

#endif

#include "vmm/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "common/log.h"

/* §5.2.3 feature bits. */
#define F_SEG_MAX (1ULL << 2)
#define F_RO (1ULL << 5)
#define F_BLK_SIZE (1ULL << 6)
#define F_FLUSH (1ULL << 9)
#define F_DISCARD (1ULL << 13)
#define F_WRITE_ZEROES (1ULL << 14)

/* §5.2.6 request types and status. */
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };

#define SECTOR 512ULL
#define HDR 16
#define SEG_MAX (VIRTQ_MAX_SEGS - 2) /* data buffers besides header and status */
#define MAX_DISCARD_SECTORS (UINT32_MAX / SECTOR)
#define ANSWERED 0xff /* prepare() answered the request itself (GET_ID) */

struct blk_inflight {
  struct blk_inflight *next_free;
  struct virtq_req req;
  struct iovec iov[VIRTQ_MAX_SEGS];
  uint32_t type;
  uint64_t len;
};

static void put_status(struct virtio_blk *b, struct blk_inflight *f, uint8_t status,
                       uint32_t data)
{
  struct virtio_mmio *m = b->m;
  if (status != S_OK)
    b->errors++;
  if (f->req.writable == 0) {
    virtio_mmio_push(m, 0, &f->req, 0); /* no room even for the status byte */
  } else {
    virtq_req_write(m->gm, &f->req, f->req.writable - 1, &status, 1);
    virtio_mmio_push(m, 0, &f->req, data + 1);
  }
  f->next_free = b->free;
  b->free = f;
}

static void done(void *ctx, void *tag, int res)
{
  struct virtio_blk *b = ctx;
  struct blk_inflight *f = tag;
  bool rw = f->type == T_IN || f->type == T_OUT;
  if (res < 0 || (rw && (uint64_t)res != f->len)) {
    log_warn("virtio-blk: request type %u failed: %s", f->type,
             res < 0 ? strerror(-res) : "short transfer");
    put_status(b, f, S_IOERR, 0);
    return;
  }
  put_status(b, f, S_OK, f->type == T_IN ? (uint32_t)f->len : 0);
}

/* Bounds of a transfer of `len` bytes at `sector`, overflow-safe. */
static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
  return len % SECTOR == 0 && sector <= b->sectors && len / SECTOR <= b->sectors - sector;
}

/* DISCARD and WRITE_ZEROES carry one segment {sector, num_sectors, flags}
 * (we advertise max_*_seg = 1). */
static uint8_t zero_request(struct virtio_blk *b, struct blk_inflight *f, struct blkio_req *io)
{
  uint8_t seg[16];
  if (b->ro)
    return S_IOERR;
  if (f->req.readable != HDR + 16 || virtq_req_read(b->m->gm, &f->req, HDR, seg, 16) != 16)
    return S_UNSUPP;
  uint64_t sector;
  uint32_t num, flags;
  memcpy(&sector, seg, 8);
  memcpy(&num, seg + 8, 4);
  memcpy(&flags, seg + 12, 4);
  if ((flags & ~1U) || (f->type == T_DISCARD && flags) || !in_disk(b, sector, num * SECTOR))
    return S_IOERR; /* §5.2.6.2: unknown flags, unmap on discard, or out of range */
  *io = (struct blkio_req){.op = f->type == T_DISCARD ? BLKIO_DISCARD : BLKIO_ZERO,
                           .off = sector * SECTOR, .len = (uint64_t)num * SECTOR};
  return S_OK;
}

/* Turns the request into I/O; S_OK means `io` is ready to submit. */
static uint8_t prepare(struct virtio_blk *b, struct blk_inflight *f, struct blkio_req *io,
                       uint32_t *data)
{
  const struct guest_mem *gm = b->m->gm;
  uint8_t hdr[HDR];
  *data = 0;
  if (f->req.writable < 1 || virtq_req_read(gm, &f->req, 0, hdr, HDR) != HDR)
    return S_IOERR;
  uint64_t sector;
  memcpy(&f->type, hdr, 4);
  memcpy(&sector, hdr + 8, 8);
  switch (f->type) {
  case T_IN:
  case T_OUT: {
    bool in = f->type == T_IN;
    if (!in && b->ro)
      return S_IOERR;
    f->len = in ? f->req.writable - 1 : f->req.readable - HDR;
    if (!in_disk(b, sector, f->len))
      return S_IOERR;
    int n = virtq_req_iov(gm, &f->req, in, in ? 0 : HDR, f->len, f->iov, VIRTQ_MAX_SEGS);
    if (n < 0)
      return S_IOERR;
    *io = (struct blkio_req){.op = in ? BLKIO_READ : BLKIO_WRITE, .iov = f->iov, .niov = n,
                             .off = sector * SECTOR, .len = f->len};
    if (in)
      b->reads++;
    else
      b->writes++;
    return S_OK;
  }
  case T_FLUSH:
    *io = (struct blkio_req){.op = BLKIO_FLUSH};
    b->flushes++;
    return S_OK;
  case T_GET_ID: {
    uint8_t id[VIRTIO_BLK_ID_BYTES] = {0};
    memcpy(id, b->id, strlen(b->id));
    *data = (uint32_t)virtq_req_write(gm, &f->req, 0, id,
                                      f->req.writable - 1 < sizeof(id) ? f->req.writable - 1
                                                                       : sizeof(id));
    return ANSWERED;
  }
  case T_DISCARD:
  case T_WRITE_ZEROES: return zero_request(b, f, io);
  default: return S_UNSUPP;
  }
}

/* What a request moves, for the bandwidth bucket: its buffers less the
 * header and the status byte. */
static uint64_t data_bytes(const struct virtq_req *req)
{
  return (req->readable > HDR ? req->readable - HDR : 0) + (req->writable ? req->writable - 1 : 0);
}

static void notify(void *dev, struct virtio_mmio *m, int queue)
{
  struct virtio_blk *b = dev;
  for (;;) {
    struct blk_inflight *f = b->free;
    if (!f)
      break; /* every slot in flight: completions kick us again */
    if (ratelimit_blocked(&b->rl) || virtio_mmio_pop(m, queue, &f->req) != 1)
      break;
    if (!ratelimit_consume(&b->rl, data_bytes(&f->req))) {
      virtio_mmio_unpop(m, queue, 1); /* taken again when the timer fires */
      break;
    }
    b->free = f->next_free;
    struct blkio_req io;
    uint32_t data;
    uint8_t st = prepare(b, f, &io, &data);
    if (st == ANSWERED) {
      put_status(b, f, S_OK, data);
    } else if (st != S_OK) {
      put_status(b, f, st, 0);
    } else {
      io.tag = f;
      if (blkio_submit(&b->io, &io) < 0)
        put_status(b, f, S_IOERR, 0);
    }
  }
  blkio_kick(&b->io);
}

void virtio_blk_on_event(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_blk *b = ctx;
  bool was_full = !b->free;
  blkio_reap(&b->io);
  if (was_full && b->free)
    notify(b, b->m, 0); /* requests left waiting for a slot */
}

void virtio_blk_on_timer(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_blk *b = ctx;
  ratelimit_on_timer(&b->rl);
  notify(b, b->m, 0);
}

void virtio_blk_quiesce(void *ctx)
{
  struct virtio_blk *b = ctx;
  blkio_drain(&b->io);
}

static void config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  const struct virtio_blk *b = dev;
  /* §5.2.4: capacity, size_max, seg_max, geometry, blk_size, topology,
   * writeback, num_queues, then the discard and write-zeroes limits. */
  uint8_t cfg[60] = {0};
  uint32_t seg_max = SEG_MAX, blk_size = SECTOR, one = 1, max = MAX_DISCARD_SECTORS;
  uint32_t align = 8; /* 4 KiB, in sectors */
  uint16_t nq = 1;
  memcpy(cfg + 0, &b->sectors, 8);
  memcpy(cfg + 12, &seg_max, 4);
  memcpy(cfg + 20, &blk_size, 4);
  memcpy(cfg + 34, &nq, 2);
  memcpy(cfg + 36, &max, 4);
  memcpy(cfg + 40, &one, 4);
  memcpy(cfg + 44, &align, 4);
  memcpy(cfg + 48, &max, 4);
  memcpy(cfg + 52, &one, 4);
  cfg[56] = 1; /* write_zeroes_may_unmap */
  if (off < sizeof(cfg))
    memcpy(data, cfg + off, off + len <= sizeof(cfg) ? len : sizeof(cfg) - off);
}

static void reset(void *dev)
{
  (void)dev; /* requests in flight finish; their completions are dropped */
}

static const struct virtio_dev_ops blk_ops = {
    .name = "blk",
    .device_id = 2,
    .features = VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC | F_SEG_MAX | F_BLK_SIZE | F_FLUSH |
                F_DISCARD | F_WRITE_ZEROES,
    .nqueues = 1,
    .queue_max = VIRTIO_BLK_QUEUE,
    .notify = notify,
    .config_read = config_read,
    .reset = reset,
};

/* The read-only variant offers VIRTIO_BLK_F_RO and no discard/zeroing. */
static const struct virtio_dev_ops blk_ro_ops = {
    .name = "blk",
    .device_id = 2,
    .features = VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC | F_SEG_MAX | F_BLK_SIZE | F_FLUSH |
                F_RO,
    .nqueues = 1,
    .queue_max = VIRTIO_BLK_QUEUE,
    .notify = notify,
    .config_read = config_read,
    .reset = reset,
};

/* Opens and locks a disk image; its size in sectors. */
static int open_image(const char *path, bool ro, struct stat *st, uint64_t *sectors, err_t *err)
{
  int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open disk `%s`%s", path,
                   !ro && (errno == EACCES || errno == EROFS) ? " for writing (add ,ro?)" : "");
  uint64_t bytes = 0;
  if (flock(fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
    err_sys(err, "disk `%s` is in use by another VM (its lock is held)", path);
  else if (fstat(fd, st) < 0)
    err_sys(err, "cannot stat disk `%s`", path);
  else if (S_ISBLK(st->st_mode) && ioctl(fd, BLKGETSIZE64, &bytes) < 0)
    err_sys(err, "cannot read the size of block device `%s`", path);
  else if (!S_ISBLK(st->st_mode) && !S_ISREG(st->st_mode))
    err_make(err, EINVAL, "disk `%s` is neither a regular file nor a block device", path);
  else {
    if (S_ISREG(st->st_mode))
      bytes = (uint64_t)st->st_size;
    if (bytes % SECTOR)
      log_warn("disk `%s`: its last %llu bytes are not a whole 512-byte sector; the guest "
               "does not see them", path, (unsigned long long)(bytes % SECTOR));
    *sectors = bytes / SECTOR;
    return fd;
  }
  close(fd);
  return -1;
}

int virtio_blk_open(struct virtio_blk *b, const struct virtio_blk_config *cfg, err_t *err)
{
  memset(b, 0, sizeof(*b));
  b->io.event_fd = -1;
  b->ro = cfg->ro;
  ratelimit_init(&b->rl);
  struct stat st;
  b->fd = open_image(cfg->path, cfg->ro, &st, &b->sectors, err);
  if (b->fd < 0 || ratelimit_configure(&b->rl, &cfg->rate_limiter, err) < 0)
    return -1;
  bool block_dev = S_ISBLK(st.st_mode);
  if (cfg->id && strlen(cfg->id) > VIRTIO_BLK_ID_BYTES)
    return err_make(err, EINVAL, "disk id `%s` is longer than %d bytes", cfg->id,
                    VIRTIO_BLK_ID_BYTES);
  if (cfg->id)
    snprintf(b->id, sizeof(b->id), "%s", cfg->id);
  else
    snprintf(b->id, sizeof(b->id), "%" PRIx64 "-%" PRIx64, (uint64_t)st.st_dev,
             (uint64_t)st.st_ino);
  b->slots = calloc(VIRTIO_BLK_QUEUE, sizeof(*b->slots));
  if (!b->slots)
    return err_sys(err, "cannot allocate the request slots of disk `%s`", cfg->path);
  for (int i = 0; i < VIRTIO_BLK_QUEUE; i++) {
    b->slots[i].next_free = b->free;
    b->free = &b->slots[i];
  }
  return blkio_open(&b->io, b->fd, block_dev, VIRTIO_BLK_QUEUE, !cfg->sync_io, done, b, err);
}

int virtio_blk_replace(struct virtio_blk *b, const char *path, err_t *err)
{
  struct stat st;
  uint64_t sectors;
  int fd = open_image(path, b->ro, &st, &sectors, err);
  if (fd < 0)
    return -1;
  close(b->fd); /* the paused loop has nothing in flight on it */
  b->fd = b->io.fd = fd;
  b->io.block_dev = S_ISBLK(st.st_mode);
  b->sectors = sectors;
  virtio_mmio_config_changed(b->m);
  return 0;
}

const struct virtio_dev_ops *virtio_blk_ops(const struct virtio_blk *b)
{
  return b->ro ? &blk_ro_ops : &blk_ops;
}

int virtio_blk_event_fd(const struct virtio_blk *b)
{
  return b->io.event_fd;
}

void virtio_blk_close(struct virtio_blk *b)
{
  blkio_close(&b->io);
  ratelimit_close(&b->rl);
  free(b->slots);
  b->slots = b->free = NULL;
  if (b->fd >= 0)
    close(b->fd);
  b->fd = -1;
}

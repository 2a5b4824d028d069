#include "vmm/virtio/rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"

#define CHUNK 4096
#define MAX_PER_REQUEST (64 * 1024) /* a larger buffer gets this much: the driver asks again */

static void notify(void *dev, struct virtio_mmio *m, int queue)
{
  struct virtio_rng *rng = dev;
  struct virtq_req req;
  while (!ratelimit_blocked(&rng->rl) && virtio_mmio_pop(m, queue, &req) == 1) {
    uint64_t want = req.writable < MAX_PER_REQUEST ? req.writable : MAX_PER_REQUEST, done = 0;
    if (!ratelimit_consume(&rng->rl, want)) {
      virtio_mmio_unpop(m, queue, 1); /* served when the timer fires */
      return;
    }
    uint8_t buf[CHUNK];
    while (done < want) {
      size_t n = want - done < CHUNK ? (size_t)(want - done) : CHUNK;
      ssize_t got = getrandom(buf, n, 0);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        log_warn("virtio-rng: getrandom failed: %s", strerror(errno));
        break;
      }
      uint64_t copied = virtq_req_write(m->gm, &req, done, buf, (uint64_t)got);
      done += copied;
      if (copied < (uint64_t)got)
        break;
    }
    rng->bytes += done;
    virtio_mmio_push(m, queue, &req, (uint32_t)done);
  }
}

const struct virtio_dev_ops virtio_rng_ops = {
    .name = "rng",
    .device_id = 4,
    .features = VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC,
    .nqueues = 1,
    .queue_max = 256,
    .notify = notify,
};

int virtio_rng_open(struct virtio_rng *r, const struct ratelimit_config *limit, err_t *err)
{
  memset(r, 0, sizeof *r);
  ratelimit_init(&r->rl);
  return ratelimit_configure(&r->rl, limit, err) < 0 ? -1 : 0;
}

void virtio_rng_close(struct virtio_rng *r)
{
  ratelimit_close(&r->rl);
}

void virtio_rng_on_timer(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_rng *r = ctx;
  ratelimit_on_timer(&r->rl);
  notify(r, r->m, 0);
}

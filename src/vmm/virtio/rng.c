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
  while (virtio_mmio_pop(m, queue, &req) == 1) {
    uint64_t want = req.writable < MAX_PER_REQUEST ? req.writable : MAX_PER_REQUEST, done = 0;
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

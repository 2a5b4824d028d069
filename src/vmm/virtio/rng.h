/* virtio-rng (virtio 1.2 §5.4): one request queue whose writable buffers
 * the device fills from the host's getrandom(). */
#ifndef ISOLA_VMM_VIRTIO_RNG_H
#define ISOLA_VMM_VIRTIO_RNG_H

#include "vmm/ratelimit.h"
#include "vmm/virtio/mmio.h"

struct virtio_rng {
  struct ratelimit rl;
  struct virtio_mmio *m;
  uint64_t bytes; /* served so far (metrics) */
};

extern const struct virtio_dev_ops virtio_rng_ops;

int virtio_rng_open(struct virtio_rng *r, const struct ratelimit_config *limit, err_t *err);
void virtio_rng_close(struct virtio_rng *r);
/* The rate limiter's timer fired (device loop). */
void virtio_rng_on_timer(void *ctx, uint32_t events);

#endif

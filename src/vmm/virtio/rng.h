/* virtio-rng (virtio 1.2 §5.4): one request queue whose writable buffers
 * the device fills from the host's getrandom(). */
#ifndef ISOLA_VMM_VIRTIO_RNG_H
#define ISOLA_VMM_VIRTIO_RNG_H

#include "vmm/virtio/mmio.h"

struct virtio_rng {
  uint64_t bytes; /* served so far (metrics) */
};

extern const struct virtio_dev_ops virtio_rng_ops;

#endif

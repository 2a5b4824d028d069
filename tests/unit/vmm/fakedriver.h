/* A virtio driver for unit tests: queues of 64 entries in a fake guest
 * memory, chains placed by hand, kicks through the transport's registers
 * (no eventfds: the device's notify runs at once). */
#ifndef ISOLA_TESTS_FAKEDRIVER_H
#define ISOLA_TESTS_FAKEDRIVER_H

#include <criterion/criterion.h>
#include <string.h>

#include "vmm/virtio/mmio.h"

#define FD_QSIZE 64
#define FD_QBASE(q) (0x10000ULL + (uint64_t)(q) * 0x10000)
#define FD_DATA 0x100000ULL /* buffers from here */

struct fd_buf {
  uint64_t addr;
  uint32_t len;
  bool write;
};

static uint16_t fd_avail[VIRTIO_MAX_QUEUES], fd_used[VIRTIO_MAX_QUEUES], fd_desc[VIRTIO_MAX_QUEUES];

static inline void fd_init(struct virtio_mmio *m, int nq, uint64_t features)
{
  virtio_mmio_write(m, 0x70, 0);
  virtio_mmio_write(m, 0x70, 1 | 2);
  virtio_mmio_write(m, 0x24, 0);
  virtio_mmio_write(m, 0x20, (uint32_t)features);
  virtio_mmio_write(m, 0x24, 1);
  virtio_mmio_write(m, 0x20, (uint32_t)(features >> 32) | 1);
  virtio_mmio_write(m, 0x70, 1 | 2 | 8);
  for (int q = 0; q < nq; q++) {
    virtio_mmio_write(m, 0x30, (uint32_t)q);
    virtio_mmio_write(m, 0x38, FD_QSIZE);
    virtio_mmio_write(m, 0x80, (uint32_t)FD_QBASE(q));
    virtio_mmio_write(m, 0x90, (uint32_t)FD_QBASE(q) + 0x1000);
    virtio_mmio_write(m, 0xa0, (uint32_t)FD_QBASE(q) + 0x2000);
    virtio_mmio_write(m, 0x44, 1);
    fd_avail[q] = fd_used[q] = fd_desc[q] = 0;
  }
  virtio_mmio_write(m, 0x70, 1 | 2 | 8 | 4);
}

/* Put a chain on queue q and kick it. */
static inline void fd_send(struct virtio_mmio *m, int q, const struct fd_buf *b, int n)
{
  const struct guest_mem *gm = m->gm;
  uint16_t head = fd_desc[q] % FD_QSIZE;
  for (int i = 0; i < n; i++) {
    uint16_t idx = (uint16_t)((fd_desc[q] + i) % FD_QSIZE);
    uint16_t flags = (uint16_t)((b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0));
    uint16_t next = (uint16_t)((idx + 1) % FD_QSIZE);
    uint8_t d[16];
    memcpy(d, &b[i].addr, 8);
    memcpy(d + 8, &b[i].len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    cr_assert_eq(guest_mem_write(gm, FD_QBASE(q) + 16ULL * idx, d, 16, NULL), 0);
  }
  fd_desc[q] = (uint16_t)(fd_desc[q] + n);
  guest_mem_write(gm, FD_QBASE(q) + 0x1000 + 4 + 2ULL * (fd_avail[q] % FD_QSIZE), &head, 2, NULL);
  fd_avail[q]++;
  guest_mem_write(gm, FD_QBASE(q) + 0x1000 + 2, &fd_avail[q], 2, NULL);
  virtio_mmio_write(m, 0x50, (uint32_t)q);
}

/* The next used element of queue q: true with its length. */
static inline bool fd_take(struct virtio_mmio *m, int q, uint32_t *len)
{
  uint16_t idx;
  guest_mem_read(m->gm, FD_QBASE(q) + 0x2000 + 2, &idx, 2, NULL);
  if (idx == fd_used[q])
    return false;
  guest_mem_read(m->gm, FD_QBASE(q) + 0x2000 + 4 + 8ULL * (fd_used[q] % FD_QSIZE) + 4, len, 4, NULL);
  fd_used[q]++;
  return true;
}

#endif

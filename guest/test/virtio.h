/* A small virtio-mmio (version 2) driver for the test guests: finds the
 * devices the VMM put on the command line, negotiates features, sets up
 * split queues, and waits for used buffers on the device's interrupt. */
#ifndef ISOLA_GUEST_VIRTIO_H
#define ISOLA_GUEST_VIRTIO_H

#include "lib.h"

#define VQ_SIZE 16

struct vq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};

struct vq {
  struct vq_desc desc[VQ_SIZE];
  struct {
    uint16_t flags, idx, ring[VQ_SIZE], used_event;
  } avail __attribute__((aligned(2)));
  struct {
    uint16_t flags, idx;
    struct {
      uint32_t id, len;
    } ring[VQ_SIZE];
    uint16_t avail_event;
  } used __attribute__((aligned(4)));
  uint16_t free_head, nfree, last_used;
  uint16_t kicked_idx; /* avail.idx at the last notification */
  bool event_idx, indirect; /* VIRTIO_F_EVENT_IDX / INDIRECT_DESC negotiated */
  int index;
  uint32_t kicks, kicks_skipped;
  struct vq_desc ind[VQ_SIZE][4] __attribute__((aligned(16))); /* one indirect table per head */
} __attribute__((aligned(4096)));

#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_EVENT_IDX (1ULL << 29)

struct vdev {
  uint64_t base;
  int irq;
  uint32_t id; /* 1 net, 2 blk, 4 rng, 19 vsock */
  uint64_t features;
  volatile uint32_t irqs; /* interrupts taken */
};

struct vbuf {
  const void *addr;
  uint32_t len;
  bool write; /* device-writable */
};

/* The devices of "virtio_mmio.device=4K@0x...:IRQ" entries; returns count. */
int virtio_find(const char *cmdline, struct vdev *devs, int max);
/* Reset, negotiate `want` & offered (plus VERSION_1); false when the device
 * refuses FEATURES_OK.  Routes its IRQ to this CPU. */
bool virtio_init(struct vdev *d, uint64_t want);
bool virtio_queue(struct vdev *d, struct vq *q, int index);
void virtio_ready(struct vdev *d);
uint32_t virtio_status(struct vdev *d);
uint32_t virtio_config32(struct vdev *d, uint32_t off);
uint8_t virtio_config8(struct vdev *d, uint32_t off);
/* Queue a chain; returns its head, or -1 when the queue is full. */
int vq_add(struct vq *q, const struct vbuf *b, int n);
void vq_kick(struct vdev *d, struct vq *q);
/* Take one used chain: true with its head and length. */
bool vq_get(struct vq *q, uint32_t *head, uint32_t *len);
/* Wait (halting, interrupts on) until q has a used chain; false after
 * `ms` milliseconds. */
bool vq_wait(struct vdev *d, struct vq *q, uint32_t ms);
/* One request, waited for: the bytes the device wrote, or -1 on timeout. */
int64_t vq_call(struct vdev *d, struct vq *q, const struct vbuf *b, int n);

/* vsock packets: 44-byte headers and operations, §5.10.6. */
struct vs_hdr {
  uint64_t src_cid, dst_cid;
  uint32_t src_port, dst_port, len;
  uint16_t type, op;
  uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE };

/* Interrupt set-up shared by the devices: the PIT as a clock for timeouts. */
void virtio_irq_setup(void);
extern volatile uint64_t virtio_ticks; /* milliseconds since virtio_irq_setup() */

#endif

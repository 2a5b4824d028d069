/* Split virtqueues (virtio 1.2 §2.7), device side.  Everything the guest
 * hands over is untrusted: ring indexes, descriptor chains (length, loops,
 * NEXT/INDIRECT rules, readable-before-writable order) and every buffer
 * address are checked before use, and guest memory is only touched through
 * the bounds-checked guest_mem helpers.  A malformed ring makes virtq_pop()
 * fail: the device then marks itself broken (NEEDS_RESET); the VMM goes on. */
#ifndef ISOLA_VMM_VIRTIO_QUEUE_H
#define ISOLA_VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/memory.h"

#define VIRTQ_MAX_SIZE 32768
#define VIRTQ_MAX_SEGS 64 /* buffers per request, after expanding indirect tables */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq {
  uint16_t size; /* power of two, as the driver set it */
  uint64_t desc, avail, used;
  bool ready;
  bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
  uint16_t last_avail; /* the next available entry to take */
  uint16_t used_idx;   /* our copy of used->idx */
  uint16_t signalled_used; /* used_idx when we last interrupted */
};

struct virtq_buf {
  uint64_t addr;
  uint32_t len;
  bool write; /* device-writable */
};

struct virtq_req {
  uint16_t head;
  uint32_t gen; /* the transport's reset generation when popped */
  int n;
  struct virtq_buf bufs[VIRTQ_MAX_SEGS];
  uint64_t readable, writable; /* bytes */
};

/* Checks the rings lie in guest memory with the alignment §2.7 asks; called
 * when the driver sets QueueReady. */
int virtq_validate(const struct guest_mem *gm, const struct virtq *q, err_t *err);

/* 1: *req holds the next request; 0: nothing available; -1: the ring is
 * malformed (err says how). */
int virtq_pop(const struct guest_mem *gm, struct virtq *q, struct virtq_req *req, err_t *err);

/* Return a request with `written` bytes put in its writable buffers. */
int virtq_push(const struct guest_mem *gm, struct virtq *q, uint16_t head, uint32_t written,
               err_t *err);

/* Whether the driver wants an interrupt for what was pushed since the last
 * one (used_event with EVENT_IDX, else the NO_INTERRUPT flag), §2.7.10. */
bool virtq_needs_interrupt(const struct guest_mem *gm, struct virtq *q);

/* Copy to or from a request's buffers as one byte stream: reads walk the
 * readable buffers, writes the writable ones, from byte `off`.  Returns the
 * bytes copied (short when the buffers end). */
uint64_t virtq_req_read(const struct guest_mem *gm, const struct virtq_req *req, uint64_t off,
                        void *dst, uint64_t len);
uint64_t virtq_req_write(const struct guest_mem *gm, const struct virtq_req *req, uint64_t off,
                         const void *src, uint64_t len);

/* Host iovecs for `len` bytes of a request's readable (write=false) or
 * writable buffers from byte `off`, for direct I/O into guest memory.
 * Returns the count, or -1 when the buffers end early or `max` is short. */
struct iovec;
int virtq_req_iov(const struct guest_mem *gm, const struct virtq_req *req, bool write, uint64_t off,
                  uint64_t len, struct iovec *iov, int max);

#endif

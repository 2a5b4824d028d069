#include "vmm/virtio/queue.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

/* §2.7.5-2.7.8 layouts. */
#define DESC_SIZE 16
#define AVAIL_RING(q, i) ((q)->avail + 4 + 2ULL * (i))
#define AVAIL_USED_EVENT(q) ((q)->avail + 4 + 2ULL * (q)->size)
#define USED_RING(q, i) ((q)->used + 4 + 8ULL * (i))
#define USED_AVAIL_EVENT(q) ((q)->used + 4 + 8ULL * (q)->size)

struct desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};

static int rd16(const struct guest_mem *gm, uint64_t a, uint16_t *v, err_t *err)
{
  return guest_mem_read(gm, a, v, 2, err);
}

static int read_desc(const struct guest_mem *gm, uint64_t table, uint32_t i, struct desc *d,
                     err_t *err)
{
  uint8_t raw[DESC_SIZE];
  if (guest_mem_read(gm, table + (uint64_t)i * DESC_SIZE, raw, DESC_SIZE, err) < 0)
    return -1;
  memcpy(&d->addr, raw, 8);
  memcpy(&d->len, raw + 8, 4);
  memcpy(&d->flags, raw + 12, 2);
  memcpy(&d->next, raw + 14, 2);
  return 0;
}

int virtq_validate(const struct guest_mem *gm, const struct virtq *q, err_t *err)
{
  if (q->size == 0 || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
    return err_make(err, EINVAL, "queue size %u is not a power of two up to %u", q->size,
                    VIRTQ_MAX_SIZE);
  if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
    return err_make(err, EINVAL, "queue rings are misaligned (desc 0x%llx, avail 0x%llx, used 0x%llx)",
                    (unsigned long long)q->desc, (unsigned long long)q->avail,
                    (unsigned long long)q->used);
  if (!guest_mem_ptr(gm, q->desc, (uint64_t)DESC_SIZE * q->size) ||
      !guest_mem_ptr(gm, q->avail, 6 + 2ULL * q->size) ||
      !guest_mem_ptr(gm, q->used, 6 + 8ULL * q->size))
    return err_make(err, EFAULT, "queue rings lie outside guest memory");
  return 0;
}

/* Add one buffer to the request, enforcing §2.7.4.2: every
 * device-writable buffer comes after every device-readable one. */
static int add_buf(const struct guest_mem *gm, struct virtq_req *req, const struct desc *d,
                   err_t *err)
{
  bool write = d->flags & VIRTQ_DESC_F_WRITE;
  if (req->n == VIRTQ_MAX_SEGS)
    return err_make(err, E2BIG, "a request has more than %d buffers", VIRTQ_MAX_SEGS);
  if (!write && req->writable)
    return err_make(err, EINVAL, "a device-readable buffer follows a writable one");
  if (d->len && !guest_mem_ptr(gm, d->addr, d->len))
    return err_make(err, EFAULT, "buffer 0x%llx+%u lies outside guest memory",
                    (unsigned long long)d->addr, d->len);
  req->bufs[req->n++] = (struct virtq_buf){d->addr, d->len, write};
  if (write)
    req->writable += d->len;
  else
    req->readable += d->len;
  return 0;
}

/* An indirect table (§2.7.5.3): whole descriptors in guest memory, no
 * nested INDIRECT, chained by NEXT within the table, without loops. */
static int walk_indirect(const struct guest_mem *gm, const struct desc *ind, struct virtq_req *req,
                         err_t *err)
{
  if (ind->len == 0 || ind->len % DESC_SIZE)
    return err_make(err, EINVAL, "indirect table length %u is not a multiple of 16", ind->len);
  uint32_t count = ind->len / DESC_SIZE;
  if (!guest_mem_ptr(gm, ind->addr, ind->len))
    return err_make(err, EFAULT, "indirect table lies outside guest memory");
  uint32_t i = 0;
  for (uint32_t steps = 0;; steps++) {
    struct desc d;
    if (steps >= count)
      return err_make(err, ELOOP, "indirect descriptor chain loops");
    if (read_desc(gm, ind->addr, i, &d, err) < 0)
      return -1;
    if (d.flags & VIRTQ_DESC_F_INDIRECT)
      return err_make(err, EINVAL, "nested indirect descriptor");
    if (add_buf(gm, req, &d, err) < 0)
      return -1;
    if (!(d.flags & VIRTQ_DESC_F_NEXT))
      return 0;
    if (d.next >= count)
      return err_make(err, EINVAL, "indirect descriptor %u points past its table", i);
    i = d.next;
  }
}

int virtq_pop(const struct guest_mem *gm, struct virtq *q, struct virtq_req *req, err_t *err)
{
  uint16_t avail_idx;
  if (!q->ready)
    return 0;
  if (rd16(gm, q->avail + 2, &avail_idx, err) < 0)
    return -1;
  uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
  if (pending == 0 && q->event_idx) {
    /* §2.7.10: ask for a kick as soon as the driver makes the next entry
     * available, then look again: one may have come before we asked. */
    if (guest_mem_write(gm, USED_AVAIL_EVENT(q), &q->last_avail, 2, err) < 0)
      return -1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (rd16(gm, q->avail + 2, &avail_idx, err) < 0)
      return -1;
    pending = (uint16_t)(avail_idx - q->last_avail);
  }
  if (pending == 0)
    return 0;
  if (pending > q->size)
    return err_make(err, EINVAL, "the available index moved by %u, more than the queue size %u",
                    pending, q->size);
  /* Read the ring entry only after the index (the driver's release). */
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  uint16_t head;
  if (rd16(gm, AVAIL_RING(q, q->last_avail % q->size), &head, err) < 0)
    return -1;
  if (head >= q->size)
    return err_make(err, EINVAL, "available entry names descriptor %u of %u", head, q->size);
  req->head = head;
  req->n = 0;
  req->readable = req->writable = 0;
  uint16_t i = head;
  for (uint32_t steps = 0;; steps++) {
    struct desc d;
    if (steps >= q->size)
      return err_make(err, ELOOP, "descriptor chain from %u loops", head);
    if (read_desc(gm, q->desc, i, &d, err) < 0)
      return -1;
    if (d.flags & VIRTQ_DESC_F_INDIRECT) {
      if (d.flags & VIRTQ_DESC_F_NEXT)
        return err_make(err, EINVAL, "descriptor %u is both INDIRECT and NEXT", i);
      if (walk_indirect(gm, &d, req, err) < 0)
        return -1;
      break;
    }
    if (add_buf(gm, req, &d, err) < 0)
      return -1;
    if (!(d.flags & VIRTQ_DESC_F_NEXT))
      break;
    if (d.next >= q->size)
      return err_make(err, EINVAL, "descriptor %u points to %u, past the table", i, d.next);
    i = d.next;
  }
  q->last_avail++;
  return 1;
}

int virtq_push(const struct guest_mem *gm, struct virtq *q, uint16_t head, uint32_t written,
               err_t *err)
{
  uint8_t elem[8];
  uint32_t id = head;
  memcpy(elem, &id, 4);
  memcpy(elem + 4, &written, 4);
  if (guest_mem_write(gm, USED_RING(q, q->used_idx % q->size), elem, 8, err) < 0)
    return -1;
  q->used_idx++;
  /* The element before the index (our release, the driver's acquire). */
  __atomic_thread_fence(__ATOMIC_RELEASE);
  return guest_mem_write(gm, q->used + 2, &q->used_idx, 2, err);
}

bool virtq_needs_interrupt(const struct guest_mem *gm, struct virtq *q)
{
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  uint16_t old = q->signalled_used, now = q->used_idx;
  bool need;
  if (q->event_idx) {
    uint16_t event;
    if (rd16(gm, AVAIL_USED_EVENT(q), &event, NULL) < 0)
      return true;
    /* vring_need_event(): did used_idx pass event since the last interrupt? */
    need = (uint16_t)(now - event - 1) < (uint16_t)(now - old);
  } else {
    uint16_t flags = 0;
    rd16(gm, q->avail, &flags, NULL);
    need = !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT) && now != old;
  }
  q->signalled_used = now;
  return need;
}

/* Host iovecs for up to `len` bytes of the request's readable (write =
 * false) or writable buffers from byte `off`; stops early at a buffer
 * outside guest memory or after `max` iovecs.  *got: the bytes covered. */
static int walk(const struct guest_mem *gm, const struct virtq_req *req, bool write, uint64_t off,
                uint64_t len, struct iovec *iov, int max, uint64_t *got)
{
  int n = 0;
  *got = 0;
  for (int i = 0; i < req->n && *got < len && n < max; i++) {
    const struct virtq_buf *b = &req->bufs[i];
    if (b->write != write)
      continue;
    if (off >= b->len) {
      off -= b->len;
      continue;
    }
    uint64_t take = b->len - off < len - *got ? b->len - off : len - *got;
    void *p = guest_mem_ptr(gm, b->addr + off, take);
    if (!p)
      break;
    iov[n++] = (struct iovec){p, take};
    if (write) /* the device fills it: a page a diff snapshot must carry */
      guest_mem_mark_dirty(gm, b->addr + off, take);
    *got += take;
    off = 0;
  }
  return n;
}

static uint64_t copy(const struct guest_mem *gm, const struct virtq_req *req, bool write,
                     uint64_t off, uint8_t *p, uint64_t len)
{
  struct iovec iov[VIRTQ_MAX_SEGS];
  uint64_t got;
  int n = walk(gm, req, write, off, len, iov, VIRTQ_MAX_SEGS, &got);
  for (int i = 0; i < n; p += iov[i++].iov_len)
    memcpy(write ? iov[i].iov_base : p, write ? p : iov[i].iov_base, iov[i].iov_len);
  return got;
}

uint64_t virtq_req_read(const struct guest_mem *gm, const struct virtq_req *req, uint64_t off,
                        void *dst, uint64_t len)
{
  return copy(gm, req, false, off, dst, len);
}

uint64_t virtq_req_write(const struct guest_mem *gm, const struct virtq_req *req, uint64_t off,
                         const void *src, uint64_t len)
{
  return copy(gm, req, true, off, (uint8_t *)src, len);
}

int virtq_req_iov(const struct guest_mem *gm, const struct virtq_req *req, bool write, uint64_t off,
                  uint64_t len, struct iovec *iov, int max)
{
  uint64_t got;
  int n = walk(gm, req, write, off, len, iov, max, &got);
  return got == len ? n : -1;
}

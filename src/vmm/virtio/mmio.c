#include "vmm/virtio/mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* Register offsets, §4.2.2. */
enum {
  MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
  DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014, DRIVER_FEATURES = 0x020,
  DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
  QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064,
  STATUS = 0x070, QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090,
  QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4,
  CONFIG_GENERATION = 0x0fc, CONFIG = 0x100,
};
#define MAGIC_VALUE 0x74726976 /* "virt" */
#define VENDOR 0x4c4f5349      /* "ISOL" */
#define INT_USED_BUFFER 1
#define INT_CONFIG_CHANGE 2

void virtio_mmio_init(struct virtio_mmio *m, const struct virtio_dev_ops *ops, void *dev,
                      const struct guest_mem *gm, struct irq_line irq)
{
  memset(m, 0, sizeof(*m));
  pthread_mutex_init(&m->lock, NULL);
  m->ops = ops;
  m->dev = dev;
  m->gm = gm;
  m->irq = irq;
  for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
    m->kick_fd[i] = -1;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
  pthread_mutex_destroy(&m->lock);
}

static uint64_t offered(const struct virtio_mmio *m)
{
  return m->ops->features | VIRTIO_F_VERSION_1;
}

static void update_irq(struct virtio_mmio *m)
{
  irq_line_set(&m->irq, m->int_status != 0);
}

/* §2.4: writing 0 to Status resets the device and the transport. */
static void reset(struct virtio_mmio *m)
{
  m->status = m->int_status = 0;
  m->driver_features = 0;
  m->dev_features_sel = m->drv_features_sel = m->queue_sel = 0;
  memset(m->queues, 0, sizeof(m->queues));
  m->used_pending = 0;
  m->gen++;
  if (m->ops->reset)
    m->ops->reset(m->dev);
  update_irq(m);
}

static void broken_locked(struct virtio_mmio *m, const char *why)
{
  if (!(m->status & VIRTIO_STATUS_NEEDS_RESET))
    log_warn("virtio-%s: %s; the device needs a reset", m->ops->name, why);
  m->status |= VIRTIO_STATUS_NEEDS_RESET;
  m->int_status |= INT_CONFIG_CHANGE;
  update_irq(m);
}

static struct virtq *selected(struct virtio_mmio *m)
{
  return m->queue_sel < (uint32_t)m->ops->nqueues ? &m->queues[m->queue_sel] : NULL;
}

static void set_status(struct virtio_mmio *m, uint32_t v)
{
  if (v == 0) {
    reset(m);
    return;
  }
  /* FEATURES_OK only for features we offered, and only with VERSION_1
   * (a modern device, §6.1). */
  if ((v & VIRTIO_STATUS_FEATURES_OK) && !(m->status & VIRTIO_STATUS_FEATURES_OK)) {
    if ((m->driver_features & ~offered(m)) || !(m->driver_features & VIRTIO_F_VERSION_1))
      v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
  }
  bool starting = (v & VIRTIO_STATUS_DRIVER_OK) && !(m->status & VIRTIO_STATUS_DRIVER_OK);
  m->status = v | (m->status & VIRTIO_STATUS_NEEDS_RESET);
  if (starting && m->ops->activate)
    m->ops->activate(m->dev, m->driver_features);
}

static void queue_ready(struct virtio_mmio *m, struct virtq *q, uint32_t v)
{
  if (!v) {
    q->ready = false;
    return;
  }
  err_t e = NULL;
  q->event_idx = m->driver_features & VIRTIO_F_EVENT_IDX;
  if (virtq_validate(m->gm, q, &e) < 0) {
    broken_locked(m, err_msg(e));
    err_free(&e);
    return;
  }
  q->ready = true;
}

uint32_t virtio_mmio_read(struct virtio_mmio *m, uint64_t off)
{
  uint32_t v = 0;
  pthread_mutex_lock(&m->lock);
  struct virtq *q = selected(m);
  switch (off) {
  case MAGIC: v = MAGIC_VALUE; break;
  case VERSION: v = 2; break;
  case DEVICE_ID: v = m->ops->device_id; break;
  case VENDOR_ID: v = VENDOR; break;
  case DEVICE_FEATURES:
    v = m->dev_features_sel < 2 ? (uint32_t)(offered(m) >> (32 * m->dev_features_sel)) : 0;
    break;
  case QUEUE_NUM_MAX: v = q ? m->ops->queue_max : 0; break;
  case QUEUE_READY: v = q ? q->ready : 0; break;
  case INTERRUPT_STATUS: v = m->int_status; break;
  case STATUS: v = m->status; break;
  case CONFIG_GENERATION: v = m->config_generation; break;
  default: break;
  }
  pthread_mutex_unlock(&m->lock);
  return v;
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
  *field = high ? (*field & 0xffffffffULL) | ((uint64_t)v << 32) : (*field & ~0xffffffffULL) | v;
}

void virtio_mmio_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
  int notify = -1;
  pthread_mutex_lock(&m->lock);
  struct virtq *q = selected(m);
  /* Queue registers may change only while the queue is not ready (§4.2.2.2). */
  bool q_setup = q && !q->ready;
  switch (off) {
  case DEVICE_FEATURES_SEL: m->dev_features_sel = v; break;
  case DRIVER_FEATURES_SEL: m->drv_features_sel = v; break;
  case DRIVER_FEATURES:
    if (!(m->status & VIRTIO_STATUS_FEATURES_OK) && m->drv_features_sel < 2)
      set_half(&m->driver_features, m->drv_features_sel == 1, v);
    break;
  case QUEUE_SEL: m->queue_sel = v; break;
  case QUEUE_NUM:
    if (q_setup)
      q->size = v <= m->ops->queue_max ? (uint16_t)v : 0;
    break;
  case QUEUE_READY:
    if (q)
      queue_ready(m, q, v);
    break;
  case QUEUE_DESC_LOW:
  case QUEUE_DESC_HIGH:
    if (q_setup)
      set_half(&q->desc, off == QUEUE_DESC_HIGH, v);
    break;
  case QUEUE_DRIVER_LOW:
  case QUEUE_DRIVER_HIGH:
    if (q_setup)
      set_half(&q->avail, off == QUEUE_DRIVER_HIGH, v);
    break;
  case QUEUE_DEVICE_LOW:
  case QUEUE_DEVICE_HIGH:
    if (q_setup)
      set_half(&q->used, off == QUEUE_DEVICE_HIGH, v);
    break;
  case QUEUE_NOTIFY:
    if (v < (uint32_t)m->ops->nqueues && (m->status & VIRTIO_STATUS_DRIVER_OK) &&
        !(m->status & VIRTIO_STATUS_NEEDS_RESET))
      notify = (int)v;
    break;
  case INTERRUPT_ACK:
    m->int_status &= ~v;
    update_irq(m);
    break;
  case STATUS: set_status(m, v); break;
  default: break;
  }
  pthread_mutex_unlock(&m->lock);
  if (notify < 0)
    return;
  if (m->kick_fd[notify] >= 0) {
    uint64_t one = 1;
    if (write(m->kick_fd[notify], &one, sizeof(one)) < 0)
      log_warn("virtio-%s: cannot kick queue %d: %s", m->ops->name, notify, strerror(errno));
  } else if (m->ops->notify) {
    m->ops->notify(m->dev, m, notify);
  }
}

static bool live_locked(const struct virtio_mmio *m)
{
  return (m->status & VIRTIO_STATUS_DRIVER_OK) && !(m->status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_mmio_kicked(struct virtio_mmio *m, int queue)
{
  pthread_mutex_lock(&m->lock);
  bool live = live_locked(m);
  pthread_mutex_unlock(&m->lock);
  if (live && m->ops->notify)
    m->ops->notify(m->dev, m, queue);
}

bool virtio_mmio_queue_live(struct virtio_mmio *m, int queue)
{
  pthread_mutex_lock(&m->lock);
  bool live = live_locked(m) && m->queues[queue].ready;
  pthread_mutex_unlock(&m->lock);
  return live;
}

int virtio_mmio_pop(struct virtio_mmio *m, int queue, struct virtq_req *req)
{
  int r = 0;
  err_t e = NULL;
  pthread_mutex_lock(&m->lock);
  if (live_locked(m)) {
    r = virtq_pop(m->gm, &m->queues[queue], req, &e);
    req->gen = m->gen;
    if (r < 0) {
      broken_locked(m, err_msg(e));
      err_free(&e);
    }
  }
  pthread_mutex_unlock(&m->lock);
  return r;
}

void virtio_mmio_unpop(struct virtio_mmio *m, int queue, uint16_t n)
{
  pthread_mutex_lock(&m->lock);
  m->queues[queue].last_avail -= n;
  pthread_mutex_unlock(&m->lock);
}

void virtio_mmio_push(struct virtio_mmio *m, int queue, const struct virtq_req *req,
                      uint32_t written)
{
  err_t e = NULL;
  pthread_mutex_lock(&m->lock);
  struct virtq *q = &m->queues[queue];
  if (req->gen == m->gen && q->ready) {
    if (virtq_push(m->gm, q, req->head, written, &e) < 0) {
      broken_locked(m, err_msg(e));
      err_free(&e);
    } else {
      m->used_pending |= 1U << queue;
    }
  }
  pthread_mutex_unlock(&m->lock);
}

void virtio_mmio_flush(struct virtio_mmio *m)
{
  pthread_mutex_lock(&m->lock);
  bool irq = false;
  for (int q = 0; m->used_pending; q++) {
    if (!(m->used_pending & (1U << q)))
      continue;
    m->used_pending &= ~(1U << q);
    irq |= m->queues[q].ready && virtq_needs_interrupt(m->gm, &m->queues[q]);
  }
  if (irq) {
    m->int_status |= INT_USED_BUFFER;
    update_irq(m);
  }
  pthread_mutex_unlock(&m->lock);
}

void virtio_mmio_config_changed(struct virtio_mmio *m)
{
  pthread_mutex_lock(&m->lock);
  m->config_generation++;
  m->int_status |= INT_CONFIG_CHANGE;
  update_irq(m);
  pthread_mutex_unlock(&m->lock);
}

void virtio_mmio_broken(struct virtio_mmio *m, const char *why)
{
  pthread_mutex_lock(&m->lock);
  broken_locked(m, why);
  pthread_mutex_unlock(&m->lock);
}

static void bus_rd(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  struct virtio_mmio *m = dev;
  if (off >= CONFIG) {
    memset(data, 0, len);
    if (m->ops->config_read)
      m->ops->config_read(m->dev, off - CONFIG, data, len);
    return;
  }
  uint32_t v = len == 4 ? virtio_mmio_read(m, off) : 0; /* §4.2.2: 32-bit accesses only */
  memcpy(data, &v, len < 4 ? len : 4);
}

static void bus_wr(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  struct virtio_mmio *m = dev;
  if (off >= CONFIG) {
    if (m->ops->config_write)
      m->ops->config_write(m->dev, off - CONFIG, data, len);
    return;
  }
  if (len != 4)
    return;
  uint32_t v;
  memcpy(&v, data, 4);
  virtio_mmio_write(m, off, v);
}

int virtio_mmio_attach(struct virtio_mmio *m, struct bus *mmio, uint64_t base, err_t *err)
{
  struct bus_range r = {.name = m->ops->name, .base = base, .len = VIRTIO_MMIO_SIZE, .dev = m,
                        .read = bus_rd, .write = bus_wr};
  return bus_register(mmio, &r, err);
}

void virtio_mmio_save(struct virtio_mmio *m, struct virtio_mmio_state *st)
{
  memset(st, 0, sizeof(*st));
  pthread_mutex_lock(&m->lock);
  st->device_id = m->ops->device_id;
  st->nqueues = (uint32_t)m->ops->nqueues;
  st->status = m->status, st->int_status = m->int_status;
  st->config_generation = m->config_generation, st->gen = m->gen;
  st->dev_features_sel = m->dev_features_sel, st->drv_features_sel = m->drv_features_sel;
  st->queue_sel = m->queue_sel;
  st->driver_features = m->driver_features;
  for (int i = 0; i < m->ops->nqueues; i++) {
    const struct virtq *q = &m->queues[i];
    st->q[i] = (struct virtio_queue_state){.desc = q->desc, .avail = q->avail, .used = q->used,
                                           .size = q->size, .last_avail = q->last_avail,
                                           .used_idx = q->used_idx,
                                           .signalled_used = q->signalled_used,
                                           .ready = q->ready, .event_idx = q->event_idx};
  }
  pthread_mutex_unlock(&m->lock);
}

int virtio_mmio_load(struct virtio_mmio *m, const struct virtio_mmio_state *st, err_t *err)
{
  if (st->device_id != m->ops->device_id || st->nqueues != (uint32_t)m->ops->nqueues)
    return err_make(err, EINVAL,
                    "the snapshot has virtio device type %u with %u queues where this VM has "
                    "virtio-%s (type %u)",
                    st->device_id, st->nqueues, m->ops->name, m->ops->device_id);
  if (st->driver_features & ~offered(m))
    return err_make(err, EINVAL, "virtio-%s: the snapshot's driver accepted features 0x%llx this "
                    "device does not offer", m->ops->name,
                    (unsigned long long)(st->driver_features & ~offered(m)));
  pthread_mutex_lock(&m->lock);
  m->status = st->status, m->int_status = st->int_status;
  m->config_generation = st->config_generation, m->gen = st->gen;
  m->dev_features_sel = st->dev_features_sel, m->drv_features_sel = st->drv_features_sel;
  m->queue_sel = st->queue_sel;
  m->driver_features = st->driver_features;
  int r = 0;
  for (int i = 0; i < m->ops->nqueues && r == 0; i++) {
    const struct virtio_queue_state *qs = &st->q[i];
    struct virtq *q = &m->queues[i];
    *q = (struct virtq){.size = qs->size, .desc = qs->desc, .avail = qs->avail, .used = qs->used,
                        .ready = qs->ready, .event_idx = qs->event_idx,
                        .last_avail = qs->last_avail, .used_idx = qs->used_idx,
                        .signalled_used = qs->signalled_used};
    if (qs->size > m->ops->queue_max)
      r = err_make(err, EINVAL, "virtio-%s queue %d: size %u is over the device's %u",
                   m->ops->name, i, qs->size, m->ops->queue_max);
    else if (q->ready && virtq_validate(m->gm, q, err) < 0)
      r = err_context(err, "virtio-%s queue %d", m->ops->name, i);
  }
  bool running = r == 0 && (m->status & VIRTIO_STATUS_DRIVER_OK);
  if (running && m->ops->activate)
    m->ops->activate(m->dev, m->driver_features);
  pthread_mutex_unlock(&m->lock);
  return r;
}

int virtio_mmio_cmdline(uint64_t base, int irq, char *out, size_t len)
{
  return snprintf(out, len, "virtio_mmio.device=4K@0x%llx:%d", (unsigned long long)base, irq);
}

#include "virtio.h"

enum {
  MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010,
  DEVICE_FEATURES_SEL = 0x014, DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
  QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
  QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
  QUEUE_DESC = 0x080, QUEUE_DRIVER = 0x090, QUEUE_DEVICE = 0x0a0, CONFIG = 0x100,
};
#define V_PIT 0x30
#define V_DEV 0x36 /* + slot: vectors 0x36-0x3e (lib.c handles 32-63) */
#define MAX_DEVS 9

volatile uint64_t virtio_ticks;
static struct vdev *by_vector[MAX_DEVS];
static int ndevs;

static void on_pit(int v)
{
  (void)v;
  virtio_ticks += 10;
}

static void on_dev(int v)
{
  struct vdev *d = by_vector[v - V_DEV];
  uint32_t st = mmio_read32(d->base + INTERRUPT_STATUS);
  mmio_write32(d->base + INTERRUPT_ACK, st);
  d->irqs++;
}

void virtio_irq_setup(void)
{
  idt_init();
  outb(0x21, 0xff); /* the 8259s stay masked: the IOAPIC delivers */
  outb(0xa1, 0xff);
  lapic_enable();
  irq_set_handler(V_PIT, on_pit);
  ioapic_route(0, V_PIT, (uint8_t)lapic_id());
  ioapic_route(2, V_PIT, (uint8_t)lapic_id()); /* QEMU wires the PIT to pin 2 */
  outb(0x43, 0x34); /* PIT channel 0, rate generator, 100 Hz */
  outb(0x40, 11932 & 0xff);
  outb(0x40, 11932 >> 8);
}

static uint64_t hex(const char **p)
{
  uint64_t v = 0;
  for (;; (*p)++) {
    char c = **p;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return v;
    v = v * 16 + (uint64_t)d;
  }
}

/* QEMU's microvm machine (bench/blk's anchor) has 8 transports of 512 bytes
 * from 0xfeb00000 on IRQs 5-12 and names them only to Linux: with
 * isola.qemu=1 the guest probes them. */
static int probe_qemu(struct vdev *devs, int max)
{
  int n = 0;
  for (int i = 0; i < 8 && n < max; i++) {
    uint64_t base = 0xfeb00000ULL + 512ULL * (uint64_t)i;
    if (mmio_read32(base + MAGIC) != 0x74726976 || mmio_read32(base + VERSION) != 2 ||
        mmio_read32(base + DEVICE_ID) == 0)
      continue;
    devs[n] = (struct vdev){.base = base, .irq = 5 + i, .id = mmio_read32(base + DEVICE_ID)};
    n++;
  }
  return n;
}

int virtio_find(const char *cmdline, struct vdev *devs, int max)
{
  static const char key[] = "virtio_mmio.device=4K@0x";
  int n = 0;
  if (cmdline_number(cmdline, "isola.qemu", 0))
    return probe_qemu(devs, max);
  for (const char *p = cmdline; *p && n < max; p++) {
    if ((p != cmdline && p[-1] != ' ') || memcmp(p, key, sizeof(key) - 1))
      continue;
    p += sizeof(key) - 1;
    struct vdev *d = &devs[n];
    memset(d, 0, sizeof(*d));
    d->base = hex(&p);
    if (*p != ':')
      continue;
    p++;
    d->irq = 0;
    for (; *p >= '0' && *p <= '9'; p++)
      d->irq = d->irq * 10 + (*p - '0');
    if (mmio_read32(d->base + MAGIC) != 0x74726976 || mmio_read32(d->base + VERSION) != 2)
      continue;
    d->id = mmio_read32(d->base + DEVICE_ID);
    n++;
  }
  return n;
}

bool virtio_init(struct vdev *d, uint64_t want)
{
  if (ndevs < MAX_DEVS) {
    by_vector[ndevs] = d;
    irq_set_handler(V_DEV + ndevs, on_dev);
    ioapic_route(d->irq, (uint8_t)(V_DEV + ndevs), (uint8_t)lapic_id());
    ndevs++;
  }
  mmio_write32(d->base + STATUS, 0);
  mmio_write32(d->base + STATUS, 1);     /* ACKNOWLEDGE */
  mmio_write32(d->base + STATUS, 1 | 2); /* DRIVER */
  uint64_t offered = 0;
  for (uint32_t sel = 0; sel < 2; sel++) {
    mmio_write32(d->base + DEVICE_FEATURES_SEL, sel);
    offered |= (uint64_t)mmio_read32(d->base + DEVICE_FEATURES) << (32 * sel);
  }
  d->features = (want & offered) | (1ULL << 32);
  for (uint32_t sel = 0; sel < 2; sel++) {
    mmio_write32(d->base + DRIVER_FEATURES_SEL, sel);
    mmio_write32(d->base + DRIVER_FEATURES, (uint32_t)(d->features >> (32 * sel)));
  }
  mmio_write32(d->base + STATUS, 1 | 2 | 8); /* FEATURES_OK */
  return mmio_read32(d->base + STATUS) & 8;
}

static void set64(uint64_t reg, uint64_t v)
{
  mmio_write32(reg, (uint32_t)v);
  mmio_write32(reg + 4, (uint32_t)(v >> 32));
}

bool virtio_queue(struct vdev *d, struct vq *q, int index)
{
  memset(q, 0, sizeof(*q));
  q->index = index;
  q->event_idx = d->features & VIRTIO_F_EVENT_IDX;
  q->indirect = d->features & VIRTIO_F_INDIRECT_DESC;
  for (int i = 0; i < VQ_SIZE; i++)
    q->desc[i].next = (uint16_t)(i + 1);
  q->nfree = VQ_SIZE;
  mmio_write32(d->base + QUEUE_SEL, (uint32_t)index);
  if (mmio_read32(d->base + QUEUE_NUM_MAX) < VQ_SIZE)
    return false;
  mmio_write32(d->base + QUEUE_NUM, VQ_SIZE);
  set64(d->base + QUEUE_DESC, (uint64_t)q->desc);
  set64(d->base + QUEUE_DRIVER, (uint64_t)&q->avail);
  set64(d->base + QUEUE_DEVICE, (uint64_t)&q->used);
  mmio_write32(d->base + QUEUE_READY, 1);
  return mmio_read32(d->base + QUEUE_READY) == 1;
}

void virtio_ready(struct vdev *d)
{
  mmio_write32(d->base + STATUS, 1 | 2 | 8 | 4); /* DRIVER_OK */
}

uint32_t virtio_status(struct vdev *d)
{
  return mmio_read32(d->base + STATUS);
}

uint32_t virtio_config32(struct vdev *d, uint32_t off)
{
  return mmio_read32(d->base + CONFIG + off);
}

uint8_t virtio_config8(struct vdev *d, uint32_t off)
{
  return *(volatile uint8_t *)(d->base + CONFIG + off);
}

static void fill(struct vq_desc *dsc, const struct vbuf *b, bool more, uint16_t next)
{
  dsc->addr = (uint64_t)b->addr;
  dsc->len = b->len;
  dsc->flags = (uint16_t)((b->write ? 2 : 0) | (more ? 1 : 0));
  dsc->next = next;
}

int vq_add(struct vq *q, const struct vbuf *b, int n)
{
  bool indirect = q->indirect && n > 1 && n <= 4;
  int need = indirect ? 1 : n;
  if (need > q->nfree)
    return -1;
  uint16_t head = q->free_head, i = head, last = head;
  if (indirect) {
    /* One descriptor pointing at a table of n (virtio 1.2 §2.7.5.3). */
    for (int k = 0; k < n; k++)
      fill(&q->ind[head][k], &b[k], k + 1 < n, (uint16_t)(k + 1));
    last = head;
    q->desc[head].addr = (uint64_t)q->ind[head];
    q->desc[head].len = (uint32_t)(16 * n);
    q->desc[head].flags = 4; /* INDIRECT */
  } else {
    for (int k = 0; k < n; k++) {
      uint16_t next = q->desc[i].next;
      fill(&q->desc[i], &b[k], k + 1 < n, next);
      last = i;
      i = next;
    }
  }
  q->free_head = q->desc[last].next;
  q->nfree = (uint16_t)(q->nfree - need);
  q->avail.ring[q->avail.idx % VQ_SIZE] = head;
  __asm__ volatile("" ::: "memory"); /* x86 keeps stores in order */
  q->avail.idx++;
  return head;
}

void vq_kick(struct vdev *d, struct vq *q)
{
  __asm__ volatile("mfence" ::: "memory");
  uint16_t old = q->kicked_idx, now = q->avail.idx;
  q->kicked_idx = now;
  if (q->event_idx) {
    /* vring_need_event(): notify only if the device asked for an entry in
     * (old, now] through used->avail_event. */
    uint16_t event = *(volatile uint16_t *)&q->used.avail_event;
    if ((uint16_t)(now - event - 1) >= (uint16_t)(now - old)) {
      q->kicks_skipped++;
      return;
    }
  }
  q->kicks++;
  mmio_write32(d->base + QUEUE_NOTIFY, (uint32_t)q->index);
}

bool vq_get(struct vq *q, uint32_t *head, uint32_t *len)
{
  if (*(volatile uint16_t *)&q->used.idx == q->last_used)
    return false;
  __asm__ volatile("" ::: "memory");
  uint16_t slot = q->last_used++ % VQ_SIZE;
  *head = q->used.ring[slot].id;
  *len = q->used.ring[slot].len;
  /* Give the chain's descriptors back to the free list. */
  uint16_t i = (uint16_t)*head, n = 1;
  while ((q->desc[i].flags & 5) == 1) { /* NEXT, not INDIRECT */
    i = q->desc[i].next;
    n++;
  }
  q->desc[i].next = q->free_head;
  q->free_head = (uint16_t)*head;
  q->nfree = (uint16_t)(q->nfree + n);
  return true;
}

bool vq_wait(struct vdev *d, struct vq *q, uint32_t ms)
{
  (void)d;
  uint64_t until = virtio_ticks + ms;
  q->avail.used_event = q->last_used; /* interrupt me at the next used entry */
  __asm__ volatile("mfence" ::: "memory");
  while (*(volatile uint16_t *)&q->used.idx == q->last_used) {
    if (virtio_ticks >= until)
      return false;
    __asm__ volatile("sti; hlt; cli");
  }
  return true;
}

int64_t vq_call(struct vdev *d, struct vq *q, const struct vbuf *b, int n)
{
  if (vq_add(q, b, n) < 0)
    return -1;
  vq_kick(d, q);
  uint32_t head, len;
  if (!vq_wait(d, q, 5000) || !vq_get(q, &head, &len))
    return -1;
  return len;
}

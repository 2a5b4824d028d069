#include "vmm/virtio/slot.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "common/log.h"

#define QUEUE_NOTIFY 0x050 /* §4.2.2 */

static void raise_irq(void *ctx, int irq, bool level)
{
  struct virtio_slot *s = ctx;
  if (!level)
    return; /* edge-triggered: nothing to lower */
  if (s->irq_fd >= 0) {
    uint64_t one = 1;
    if (write(s->irq_fd, &one, sizeof(one)) < 0)
      log_warn("virtio-%s: cannot raise IRQ %d: %s", s->mmio.ops->name, irq, strerror(errno));
  } else if (s->host->irq_pulse) {
    s->host->irq_pulse(s->host->irq_ctx, irq);
  }
}

static void flush(void *ctx)
{
  struct virtio_slot *s = ctx;
  virtio_mmio_flush(&s->mmio);
}

static void on_kick(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_kick *k = ctx;
  uint64_t n;
  if (read(k->slot->mmio.kick_fd[k->queue], &n, sizeof(n)) < 0 && errno != EAGAIN)
    log_warn("virtio: cannot read a queue kick: %s", strerror(errno));
  virtio_mmio_kicked(&k->slot->mmio, k->queue);
}

/* KVM signals the kick eventfd itself when the guest writes the queue's
 * index to QueueNotify; other values still reach the MMIO handler. */
static void wire_ioeventfd(struct virtio_slot *s, int q)
{
  struct kvm_ioeventfd io = {.datamatch = (uint64_t)q, .addr = s->base + QUEUE_NOTIFY, .len = 4,
                             .fd = s->mmio.kick_fd[q], .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
  if (s->host->vm_fd >= 0 && ioctl(s->host->vm_fd, KVM_IOEVENTFD, &io) < 0)
    log_debug("virtio-%s: no ioeventfd for queue %d (%s); kicks go through the MMIO handler",
              s->mmio.ops->name, q, strerror(errno));
}

static void wire_irqfd(struct virtio_slot *s)
{
  if (s->host->vm_fd < 0)
    return;
  s->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct kvm_irqfd f = {.fd = (uint32_t)s->irq_fd, .gsi = (uint32_t)s->irq};
  if (s->irq_fd >= 0 && ioctl(s->host->vm_fd, KVM_IRQFD, &f) < 0) {
    log_debug("virtio-%s: no irqfd (%s); interrupts go through KVM_IRQ_LINE", s->mmio.ops->name,
              strerror(errno));
    close(s->irq_fd);
    s->irq_fd = -1;
  }
}

int virtio_slot_attach(struct virtio_slot *s, const struct virtio_host *host,
                       const struct virtio_dev_ops *ops, void *dev, uint64_t base, int irq,
                       err_t *err)
{
  memset(s, 0, sizeof(*s));
  s->host = host;
  s->base = base;
  s->irq = irq;
  s->irq_fd = -1;
  virtio_mmio_init(&s->mmio, ops, dev, host->gm, (struct irq_line){raise_irq, s, irq});
  s->attached = true;
  wire_irqfd(s);
  if (evloop_after_batch(host->loop, flush, s, err) < 0)
    return -1;
  for (int q = 0; q < ops->nqueues; q++) {
    s->kicks[q] = (struct virtio_kick){s, q};
    s->mmio.kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->mmio.kick_fd[q] < 0)
      return err_sys(err, "cannot create the kick eventfd of virtio-%s queue %d", ops->name, q);
    if (evloop_add(host->loop, s->mmio.kick_fd[q], EPOLLIN, on_kick, &s->kicks[q], err) < 0)
      return -1;
    wire_ioeventfd(s, q);
  }
  return virtio_mmio_attach(&s->mmio, host->mmio, base, err);
}

void virtio_slot_restored(struct virtio_slot *s)
{
  for (int q = 0; q < s->mmio.ops->nqueues; q++) {
    uint64_t one = 1;
    if (virtio_mmio_queue_live(&s->mmio, q) && s->mmio.kick_fd[q] >= 0 &&
        write(s->mmio.kick_fd[q], &one, sizeof(one)) < 0)
      log_warn("virtio-%s: cannot kick queue %d: %s", s->mmio.ops->name, q, strerror(errno));
  }
  pthread_mutex_lock(&s->mmio.lock);
  bool pending = s->mmio.int_status != 0;
  pthread_mutex_unlock(&s->mmio.lock);
  if (pending)
    raise_irq(s, s->irq, true);
}

void virtio_slot_release(struct virtio_slot *s)
{
  if (!s->attached)
    return;
  for (int q = 0; q < VIRTIO_MAX_QUEUES; q++)
    if (s->mmio.kick_fd[q] >= 0) {
      evloop_remove(s->host->loop, s->mmio.kick_fd[q]);
      close(s->mmio.kick_fd[q]);
      s->mmio.kick_fd[q] = -1;
    }
  if (s->irq_fd >= 0)
    close(s->irq_fd);
  s->irq_fd = -1;
  virtio_mmio_destroy(&s->mmio);
  s->attached = false;
}

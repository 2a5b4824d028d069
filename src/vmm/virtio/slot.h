/* One virtio-mmio slot of a VM: a device model behind its transport,
 * mapped at `base` with interrupt `irq`, its queue kicks wired to the device
 * event loop (through KVM ioeventfds when the host has them: a guest's
 * QueueNotify then never leaves the kernel) and its interrupt raised through
 * a KVM irqfd (or KVM_IRQ_LINE without one).  Interrupts are edge-triggered,
 * as Firecracker's are: the driver reads InterruptStatus on each. */
#ifndef ISOLA_VMM_VIRTIO_SLOT_H
#define ISOLA_VMM_VIRTIO_SLOT_H

#include "vmm/bus.h"
#include "vmm/evloop.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"

struct virtio_host {
  int vm_fd; /* -1 in unit tests: no ioeventfd/irqfd */
  const struct guest_mem *gm;
  struct bus *mmio;
  struct evloop *loop;
  /* Raises `irq` without an irqfd (KVM_IRQ_LINE in the VM, a recorder in
   * tests). */
  void (*irq_pulse)(void *ctx, int irq);
  void *irq_ctx;
};

struct virtio_slot;
struct virtio_kick {
  struct virtio_slot *slot;
  int queue;
};

struct virtio_slot {
  struct virtio_mmio mmio;
  const struct virtio_host *host;
  uint64_t base;
  int irq;
  int irq_fd;
  bool attached;
  struct virtio_kick kicks[VIRTIO_MAX_QUEUES];
};

int virtio_slot_attach(struct virtio_slot *s, const struct virtio_host *host,
                       const struct virtio_dev_ops *ops, void *dev, uint64_t base, int irq,
                       err_t *err);
/* A slot restored from a snapshot, once its device loop runs: every live
 * queue is looked at once (a kick the old process had not handled is not
 * lost) and a pending interrupt is raised again. */
void virtio_slot_restored(struct virtio_slot *s);
/* After the event loop has stopped: closes the slot's fds. */
void virtio_slot_release(struct virtio_slot *s);

#endif

/* The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): the register
 * block a driver uses to negotiate features, set up queues and kick them,
 * in front of one device model.  Device models plug in through
 * virtio_dev_ops; a guest that misprograms the transport gets the device
 * marked DEVICE_NEEDS_RESET (§2.1.2), never the VMM stopped. */
#ifndef ISOLA_VMM_VIRTIO_MMIO_H
#define ISOLA_VMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/devices/irq.h"
#include "vmm/memory.h"
#include "vmm/virtio/queue.h"

#define VIRTIO_MMIO_SIZE 0x1000
#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_F_VERSION_1 (1ULL << 32)
#define VIRTIO_F_EVENT_IDX (1ULL << 29)
#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)

/* Device status bits, §2.1. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

struct virtio_mmio;

struct virtio_dev_ops {
  const char *name;
  uint32_t device_id; /* §5: 2 block, 1 net, 4 rng, 19 vsock, 3 console */
  uint64_t features;  /* VIRTIO_F_VERSION_1 is added by the transport */
  int nqueues;
  uint16_t queue_max;
  void (*notify)(void *dev, struct virtio_mmio *m, int queue);
  void (*config_read)(void *dev, uint64_t off, uint8_t *data, uint32_t len);
  void (*config_write)(void *dev, uint64_t off, const uint8_t *data, uint32_t len);
  void (*reset)(void *dev);
  /* The driver set DRIVER_OK having accepted `features` (under the
   * transport's lock, on a vCPU thread). */
  void (*activate)(void *dev, uint64_t features);
};

struct virtio_mmio {
  pthread_mutex_t lock;
  uint32_t gen; /* bumped by every reset: requests popped before it are dropped */
  const struct virtio_dev_ops *ops;
  void *dev;
  const struct guest_mem *gm;
  struct irq_line irq;
  uint32_t status, int_status, config_generation;
  uint32_t dev_features_sel, drv_features_sel, queue_sel;
  uint64_t driver_features;
  struct virtq queues[VIRTIO_MAX_QUEUES];
  /* Per-queue eventfds signalled on QueueNotify (by KVM through an
   * ioeventfd, or by the MMIO write handler): the device loop then calls
   * virtio_mmio_kicked().  -1: the write calls the device directly. */
  int kick_fd[VIRTIO_MAX_QUEUES];
  uint32_t used_pending; /* queues pushed to since the last virtio_mmio_flush() */
};

void virtio_mmio_init(struct virtio_mmio *m, const struct virtio_dev_ops *ops, void *dev,
                      const struct guest_mem *gm, struct irq_line irq);
void virtio_mmio_destroy(struct virtio_mmio *m);
int virtio_mmio_attach(struct virtio_mmio *m, struct bus *mmio, uint64_t base, err_t *err);

uint32_t virtio_mmio_read(struct virtio_mmio *m, uint64_t off);
void virtio_mmio_write(struct virtio_mmio *m, uint64_t off, uint32_t v);

/* The device loop saw `queue` kicked: run the device's notify handler if
 * the driver is still live (DRIVER_OK, no reset pending). */
void virtio_mmio_kicked(struct virtio_mmio *m, int queue);

/* Device side, under the transport's lock: take the next request of
 * `queue` (1), none (0), or a malformed ring (-1: the device is marked
 * NEEDS_RESET); give a request back with `written` bytes.  Requests popped
 * before a reset are dropped.  Pushing does not interrupt: the device loop
 * calls virtio_mmio_flush() once per batch of events, so a burst of
 * completions costs the guest one interrupt. */
int virtio_mmio_pop(struct virtio_mmio *m, int queue, struct virtq_req *req);
void virtio_mmio_push(struct virtio_mmio *m, int queue, const struct virtq_req *req,
                      uint32_t written);
/* Give back the last `n` requests popped and not pushed (a device that ran
 * out of room for them). */
void virtio_mmio_unpop(struct virtio_mmio *m, int queue, uint16_t n);
/* Interrupt the driver for the queues pushed to, where it wants one. */
void virtio_mmio_flush(struct virtio_mmio *m);
/* Whether `queue` is set up and the driver is running. */
bool virtio_mmio_queue_live(struct virtio_mmio *m, int queue);

/* Device side: its configuration changed (new generation, and a
 * configuration-change interrupt, §2.5.1). */
void virtio_mmio_config_changed(struct virtio_mmio *m);

/* Device side: the device found the driver's data malformed. */
void virtio_mmio_broken(struct virtio_mmio *m, const char *why);

/* The transport's state in a snapshot (fixed layout, little-endian): the
 * registers the driver wrote and each queue's rings and our indexes into
 * them.  Guest memory holds the rest. */
struct virtio_queue_state {
  uint64_t desc, avail, used;
  uint16_t size, last_avail, used_idx, signalled_used;
  uint8_t ready, event_idx, pad[6];
};
struct virtio_mmio_state {
  uint32_t device_id, nqueues;
  uint32_t status, int_status, config_generation, gen;
  uint32_t dev_features_sel, drv_features_sel, queue_sel, pad;
  uint64_t driver_features;
  struct virtio_queue_state q[VIRTIO_MAX_QUEUES];
};

/* Save the transport's state; load it into a transport of the same device
 * (checked: device type, queue sizes, rings inside guest memory) and, for
 * a driver that was running, activate the device with the features it had
 * accepted. */
void virtio_mmio_save(struct virtio_mmio *m, struct virtio_mmio_state *st);
int virtio_mmio_load(struct virtio_mmio *m, const struct virtio_mmio_state *st, err_t *err);

/* "virtio_mmio.device=4K@0xd0001000:5" for the kernel command line. */
int virtio_mmio_cmdline(uint64_t base, int irq, char *out, size_t len);

#endif

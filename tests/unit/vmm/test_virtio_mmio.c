/* The virtio-mmio transport driven the way a driver does it (virtio 1.2
 * §3.1.1, §4.2.3), with a device model that records what reaches it. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/layout.h"
#include "vmm/virtio/mmio.h"

enum { STATUS = 0x70, DEV_FEAT = 0x10, DEV_FEAT_SEL = 0x14, DRV_FEAT = 0x20, DRV_FEAT_SEL = 0x24,
       QSEL = 0x30, QMAX = 0x34, QNUM = 0x38, QREADY = 0x44, QNOTIFY = 0x50, ISR = 0x60,
       IACK = 0x64, QDESC = 0x80, QAVAIL = 0x90, QUSED = 0xa0 };

static int notified = -1, resets, irq_level;
static void notify(void *dev, struct virtio_mmio *m, int q)
{
  notified = q;
}
static void reset_dev(void *dev)
{
  resets++;
}
static void set_irq(void *ctx, int irq, bool level)
{
  irq_level = level;
}

static const struct virtio_dev_ops rng = {
    .name = "rng", .device_id = 4, .features = VIRTIO_F_EVENT_IDX, .nqueues = 1,
    .queue_max = 256, .notify = notify, .reset = reset_dev};

static struct guest_mem gm;
static struct virtio_mmio m;

static void setup(void)
{
  cr_assert_eq(guest_mem_create(&gm, 16 * MiB, false, NULL), 0);
  virtio_mmio_init(&m, &rng, NULL, &gm, (struct irq_line){set_irq, NULL, 5});
}
static void teardown(void)
{
  virtio_mmio_destroy(&m);
  guest_mem_destroy(&gm);
}
TestSuite(mmio, .init = setup, .fini = teardown);

static void driver_init(uint64_t features, uint64_t desc)
{
  virtio_mmio_write(&m, STATUS, 0);
  virtio_mmio_write(&m, STATUS, 1);
  virtio_mmio_write(&m, STATUS, 1 | 2);
  virtio_mmio_write(&m, DRV_FEAT_SEL, 0);
  virtio_mmio_write(&m, DRV_FEAT, (uint32_t)features);
  virtio_mmio_write(&m, DRV_FEAT_SEL, 1);
  virtio_mmio_write(&m, DRV_FEAT, (uint32_t)(features >> 32));
  virtio_mmio_write(&m, STATUS, 1 | 2 | 8);
  virtio_mmio_write(&m, QSEL, 0);
  virtio_mmio_write(&m, QNUM, 64);
  virtio_mmio_write(&m, QDESC, (uint32_t)desc);
  virtio_mmio_write(&m, QAVAIL, 0x20000);
  virtio_mmio_write(&m, QUSED, 0x30000);
  virtio_mmio_write(&m, QREADY, 1);
}

Test(mmio, identity_registers)
{
  cr_assert_eq(virtio_mmio_read(&m, 0x0), 0x74726976);
  cr_assert_eq(virtio_mmio_read(&m, 0x4), 2, "version 2: modern only");
  cr_assert_eq(virtio_mmio_read(&m, 0x8), 4);
  virtio_mmio_write(&m, DEV_FEAT_SEL, 1);
  cr_assert_eq(virtio_mmio_read(&m, DEV_FEAT), 1, "VIRTIO_F_VERSION_1 (bit 32)");
  virtio_mmio_write(&m, DEV_FEAT_SEL, 0);
  cr_assert_eq(virtio_mmio_read(&m, DEV_FEAT), 1u << 29, "EVENT_IDX");
  cr_assert_eq(virtio_mmio_read(&m, QMAX), 256);
}

Test(mmio, the_driver_sequence_sets_up_a_queue_and_kicks_reach_the_device)
{
  driver_init(VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX, 0x10000);
  cr_assert(virtio_mmio_read(&m, STATUS) & 8, "FEATURES_OK accepted");
  cr_assert_eq(virtio_mmio_read(&m, QREADY), 1);
  cr_assert(m.queues[0].event_idx);
  virtio_mmio_write(&m, QNOTIFY, 0);
  cr_assert_eq(notified, -1, "no kicks before DRIVER_OK");
  virtio_mmio_write(&m, STATUS, 1 | 2 | 8 | 4);
  virtio_mmio_write(&m, QNOTIFY, 0);
  cr_assert_eq(notified, 0);
  /* A used buffer with the driver asking for it: interrupt, then ack. */
  uint16_t used_event = 0;
  guest_mem_write(&gm, 0x20000 + 4 + 2 * 64, &used_event, 2, NULL);
  struct virtq_req req = {.head = 0, .gen = m.gen};
  virtio_mmio_push(&m, 0, &req, 0);
  cr_assert_eq(irq_level, 0, "pushing alone does not interrupt");
  virtio_mmio_flush(&m);
  cr_assert_eq(virtio_mmio_read(&m, ISR), 1);
  cr_assert_eq(irq_level, 1);
  virtio_mmio_write(&m, IACK, 1);
  cr_assert_eq(irq_level, 0);
  virtio_mmio_write(&m, STATUS, 0);
  cr_assert_eq(resets, 2, "reset at the start of init and now");
  cr_assert_eq(virtio_mmio_read(&m, QREADY), 0);
}

Test(mmio, features_not_offered_or_legacy_drivers_are_refused)
{
  driver_init(VIRTIO_F_VERSION_1 | (1ULL << 5), 0x10000);
  cr_assert_not(virtio_mmio_read(&m, STATUS) & 8, "bit 5 was never offered");
  driver_init(VIRTIO_F_EVENT_IDX, 0x10000);
  cr_assert_not(virtio_mmio_read(&m, STATUS) & 8, "no VERSION_1: a legacy driver");
}

Test(mmio, a_misprogrammed_queue_marks_the_device_broken_not_the_vmm)
{
  driver_init(VIRTIO_F_VERSION_1, 16 * MiB - 0x100); /* 64 x 16 bytes run past memory */
  cr_assert(virtio_mmio_read(&m, STATUS) & VIRTIO_STATUS_NEEDS_RESET);
  cr_assert_eq(virtio_mmio_read(&m, QREADY), 0);
  cr_assert(virtio_mmio_read(&m, ISR) & 2, "configuration-change interrupt");
  virtio_mmio_write(&m, STATUS, 1 | 2 | 8 | 4);
  virtio_mmio_write(&m, QNOTIFY, 0);
  cr_assert_eq(notified, -1, "a broken device takes no kicks");
  virtio_mmio_write(&m, STATUS, 0);
  cr_assert_not(virtio_mmio_read(&m, STATUS) & VIRTIO_STATUS_NEEDS_RESET, "reset clears it");
}

Test(mmio, kernel_command_line_description)
{
  char buf[64];
  virtio_mmio_cmdline(0xd0001000, 5, buf, sizeof(buf));
  cr_assert_str_eq(buf, "virtio_mmio.device=4K@0xd0001000:5");
}

static int activated;
static uint64_t activated_with;
static void activate(void *dev, uint64_t features)
{
  activated++;
  activated_with = features;
}

Test(mmio, a_saved_transport_loads_into_a_fresh_one_and_the_device_is_activated)
{
  driver_init(VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX, 0x10000);
  virtio_mmio_write(&m, STATUS, 1 | 2 | 8 | 4);
  m.queues[0].last_avail = 7;
  m.queues[0].used_idx = 5;
  struct virtio_mmio_state st;
  virtio_mmio_save(&m, &st);
  cr_assert_eq(st.device_id, 4);
  cr_assert_eq(st.q[0].size, 64);

  struct virtio_dev_ops ops = rng;
  ops.activate = activate;
  struct virtio_mmio fresh;
  virtio_mmio_init(&fresh, &ops, NULL, &gm, (struct irq_line){set_irq, NULL, 5});
  err_t err = NULL;
  cr_assert_eq(virtio_mmio_load(&fresh, &st, &err), 0, "%s", err_msg(err));
  cr_assert_eq(activated, 1, "a running driver's device is activated again");
  cr_assert_eq(activated_with, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX);
  cr_assert_eq(virtio_mmio_read(&fresh, QREADY), 1);
  cr_assert_eq(fresh.queues[0].last_avail, 7);
  cr_assert_eq(fresh.queues[0].used_idx, 5);
  cr_assert(fresh.queues[0].event_idx);
  virtio_mmio_write(&fresh, QNOTIFY, 0);
  cr_assert_eq(notified, 0, "kicks reach the device: it is live");
  virtio_mmio_destroy(&fresh);
}

Test(mmio, a_saved_transport_is_refused_by_another_device_or_outside_memory)
{
  driver_init(VIRTIO_F_VERSION_1, 0x10000);
  struct virtio_mmio_state st;
  virtio_mmio_save(&m, &st);
  static const struct virtio_dev_ops blk = {.name = "blk", .device_id = 2, .nqueues = 1, .queue_max = 256};
  struct virtio_mmio other;
  virtio_mmio_init(&other, &blk, NULL, &gm, (struct irq_line){set_irq, NULL, 5});
  err_t err = NULL;
  cr_assert_eq(virtio_mmio_load(&other, &st, &err), -1);
  cr_assert(strstr(err_msg(err), "virtio-blk"), "%s", err_msg(err));
  err_free(&err);
  virtio_mmio_destroy(&other);

  struct virtio_mmio same;
  virtio_mmio_init(&same, &rng, NULL, &gm, (struct irq_line){set_irq, NULL, 5});
  st.q[0].desc = 16 * MiB - 0x10; /* the ring runs past guest memory */
  cr_assert_eq(virtio_mmio_load(&same, &st, &err), -1);
  cr_assert(strstr(err_msg(err), "queue 0"), "%s", err_msg(err));
  err_free(&err);
  st.q[0].desc = 0x10000;
  st.q[0].size = 1024;
  cr_assert_eq(virtio_mmio_load(&same, &st, &err), -1);
  cr_assert(strstr(err_msg(err), "size 1024"), "%s", err_msg(err));
  err_free(&err);
  virtio_mmio_destroy(&same);
}

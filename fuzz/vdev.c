/* Fuzz the virtio device models: the input is a guest's memory window
 * (rings, request headers, packets); the first byte picks virtio-blk or
 * virtio-vsock and the queue kicked.  Whatever the guest wrote, the device
 * must answer, drop or mark itself broken: no crash, no access outside guest
 * memory, no leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "vmm/layout.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/vsock.h"

static struct guest_mem gm;
static char image[] = "/tmp/isola-fuzz-vdev-XXXXXX";
static char dir[] = "/tmp/isola-fuzz-vsock-XXXXXX";

static void cleanup(void)
{
  unlink(image);
  rmdir(dir);
}

static void init_once(void)
{
  if (gm.nregions)
    return;
  if (guest_mem_create(&gm, 16 * MiB, false, NULL) < 0)
    abort();
  int fd = mkstemp(image);
  if (fd < 0 || ftruncate(fd, 1 << 20) < 0 || !mkdtemp(dir))
    abort();
  close(fd);
  atexit(cleanup);
}

static void ready_queues(struct virtio_mmio *m, int nq, uint16_t size)
{
  m->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
              VIRTIO_STATUS_DRIVER_OK;
  for (int q = 0; q < nq; q++)
    m->queues[q] = (struct virtq){.size = size, .desc = 0x1000ULL * (uint64_t)q * 4,
                                  .avail = 0x1000ULL * (uint64_t)q * 4 + 0x1000,
                                  .used = 0x1000ULL * (uint64_t)q * 4 + 0x2000, .ready = true};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  init_once();
  if (size < 2)
    return 0;
  uint16_t qsize = (uint16_t)(1u << (data[1] % 7)); /* 1 .. 64 */
  guest_mem_fill(&gm, 0, 0, 0x10000, NULL);
  guest_mem_write(&gm, 0, data + 2, size - 2 > 0x10000 ? 0x10000 : size - 2, NULL);
  struct virtio_mmio m;
  if (data[0] & 1) {
    struct evloop loop;
    struct virtio_vsock v;
    char uds[96];
    snprintf(uds, sizeof(uds), "%s/v.sock", dir);
    struct virtio_vsock_config cfg = {.cid = 3, .uds = uds};
    if (evloop_init(&loop, NULL) < 0 || virtio_vsock_open(&v, &cfg, &loop, NULL) < 0)
      abort();
    virtio_mmio_init(&m, &virtio_vsock_ops, &v, &gm, (struct irq_line){0});
    v.m = &m;
    ready_queues(&m, 3, qsize);
    virtio_vsock_ops.notify(&v, &m, (data[0] >> 1) % 3);
    virtio_vsock_close(&v);
    evloop_destroy(&loop);
  } else {
    struct virtio_blk b;
    struct virtio_blk_config cfg = {.path = image, .sync_io = true};
    if (virtio_blk_open(&b, &cfg, NULL) < 0)
      abort();
    const struct virtio_dev_ops *ops = virtio_blk_ops(&b);
    virtio_mmio_init(&m, ops, &b, &gm, (struct irq_line){0});
    b.m = &m;
    ready_queues(&m, 1, qsize);
    ops->notify(&b, &m, 0);
    virtio_blk_close(&b);
  }
  virtio_mmio_destroy(&m);
  return 0;
}

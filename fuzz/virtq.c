/* Fuzz the virtqueue walker: the input is a guest's descriptor table,
 * available ring and indirect tables (a 64 KiB window of guest memory), and
 * the device pops and completes whatever it can until the ring is empty or
 * found malformed. */
#include <string.h>

#include "fuzz.h"
#include "vmm/layout.h"
#include "vmm/virtio/queue.h"

static struct guest_mem gm;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (gm.nregions == 0 && guest_mem_create(&gm, 16 * MiB, false, NULL) < 0)
    abort();
  /* The window starts with the queue size and the avail index the driver
   * reports; the rest is the guest memory the rings point into. */
  uint16_t qsize = 1;
  if (size >= 1)
    qsize = (uint16_t)(1u << (data[0] % 9)); /* 1 .. 256 */
  guest_mem_fill(&gm, 0, 0, 0x10000, NULL);
  if (size > 1)
    guest_mem_write(&gm, 0, data + 1, size - 1 > 0x10000 ? 0x10000 : size - 1, NULL);
  struct virtq q = {.size = qsize, .desc = 0x0, .avail = 0x8000, .used = 0xc000, .ready = true,
                    .event_idx = size > 2 && (data[1] & 1)};
  err_t e = NULL;
  if (virtq_validate(&gm, &q, &e) < 0) {
    fuzz_check_error(-1, &e);
    return 0;
  }
  struct virtq_req r;
  for (int i = 0; i < 512; i++) {
    int got = virtq_pop(&gm, &q, &r, &e);
    if (got <= 0) {
      fuzz_check_error(got, &e);
      break;
    }
    uint8_t buf[256];
    virtq_req_read(&gm, &r, 0, buf, sizeof(buf));
    virtq_req_write(&gm, &r, 0, buf, r.writable < sizeof(buf) ? r.writable : sizeof(buf));
    if (virtq_push(&gm, &q, r.head, 0, &e) < 0) {
      fuzz_check_error(-1, &e);
      break;
    }
    virtq_needs_interrupt(&gm, &q);
  }
  return 0;
}

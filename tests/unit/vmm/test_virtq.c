/* Split virtqueues against well-formed and hostile rings, on a fake guest
 * memory (virtio 1.2 §2.7). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "vmm/layout.h"
#include "vmm/virtio/queue.h"

#define DESC 0x10000ULL
#define AVAIL 0x20000ULL
#define USED 0x30000ULL
#define DATA 0x40000ULL

static struct guest_mem gm;
static struct virtq q;

static void setup(void)
{
  cr_assert_eq(guest_mem_create(&gm, 16 * MiB, false, NULL), 0);
  q = (struct virtq){.size = 8, .desc = DESC, .avail = AVAIL, .used = USED, .ready = true};
}
static void teardown(void)
{
  guest_mem_destroy(&gm);
}
TestSuite(virtq, .init = setup, .fini = teardown);

static void desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next)
{
  uint8_t raw[16];
  memcpy(raw, &addr, 8);
  memcpy(raw + 8, &len, 4);
  memcpy(raw + 12, &flags, 2);
  memcpy(raw + 14, &next, 2);
  cr_assert_eq(guest_mem_write(&gm, table + 16ULL * i, raw, 16, NULL), 0);
}

static void offer(uint16_t slot, uint16_t head, uint16_t new_idx)
{
  cr_assert_eq(guest_mem_write(&gm, AVAIL + 4 + 2ULL * slot, &head, 2, NULL), 0);
  cr_assert_eq(guest_mem_write(&gm, AVAIL + 2, &new_idx, 2, NULL), 0);
}

static const char *pop_error(void)
{
  static char msg[256];
  struct virtq_req r;
  err_t e = NULL;
  cr_assert_eq(virtq_pop(&gm, &q, &r, &e), -1);
  snprintf(msg, sizeof(msg), "%s", err_msg(e));
  err_free(&e);
  return msg;
}

Test(virtq, a_chain_of_readable_then_writable_buffers)
{
  cr_assert_eq(virtq_validate(&gm, &q, NULL), 0);
  cr_assert_eq(guest_mem_write(&gm, DATA, "hello ", 6, NULL), 0);
  cr_assert_eq(guest_mem_write(&gm, DATA + 0x100, "world", 5, NULL), 0);
  desc(DESC, 3, DATA, 6, VIRTQ_DESC_F_NEXT, 5);
  desc(DESC, 5, DATA + 0x100, 5, VIRTQ_DESC_F_NEXT, 1);
  desc(DESC, 1, DATA + 0x200, 16, VIRTQ_DESC_F_WRITE, 0);
  offer(0, 3, 1);
  struct virtq_req r;
  err_t e = NULL;
  cr_assert_eq(virtq_pop(&gm, &q, &r, &e), 1, "%s", err_msg(e));
  cr_assert_eq(r.head, 3);
  cr_assert_eq(r.n, 3);
  cr_assert_eq(r.readable, 11);
  cr_assert_eq(r.writable, 16);
  char buf[16] = {0};
  cr_assert_eq(virtq_req_read(&gm, &r, 0, buf, sizeof(buf)), 11);
  cr_assert_str_eq(buf, "hello world");
  cr_assert_eq(virtq_req_write(&gm, &r, 0, "OK", 2), 2);
  cr_assert_eq(virtq_push(&gm, &q, r.head, 2, NULL), 0);
  uint16_t used_idx;
  uint32_t id, len;
  guest_mem_read(&gm, USED + 2, &used_idx, 2, NULL);
  guest_mem_read(&gm, USED + 4, &id, 4, NULL);
  guest_mem_read(&gm, USED + 8, &len, 4, NULL);
  cr_assert_eq(used_idx, 1);
  cr_assert_eq(id, 3);
  cr_assert_eq(len, 2);
  cr_assert_eq(virtq_pop(&gm, &q, &r, NULL), 0, "nothing more");
}

Test(virtq, indirect_tables)
{
  uint64_t table = DATA + 0x1000;
  desc(table, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 2);
  desc(table, 2, DATA + 0x10, 8, VIRTQ_DESC_F_WRITE, 0);
  desc(DESC, 0, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
  offer(0, 0, 1);
  struct virtq_req r;
  cr_assert_eq(virtq_pop(&gm, &q, &r, NULL), 1);
  cr_assert_eq(r.n, 2);
  cr_assert_eq(r.readable, 4);
  cr_assert_eq(r.writable, 8);
}

Test(virtq, indexes_wrap_around_16_bits)
{
  q.last_avail = 65535;
  desc(DESC, 2, DATA, 1, 0, 0);
  offer(65535 % 8, 2, 0); /* idx 65535 -> 0: one entry */
  struct virtq_req r;
  cr_assert_eq(virtq_pop(&gm, &q, &r, NULL), 1);
  cr_assert_eq(r.head, 2);
  cr_assert_eq(q.last_avail, 0);
}

Test(virtq, hostile_rings_are_refused_with_the_reason)
{
  offer(0, 9, 1);
  cr_assert(strstr(pop_error(), "names descriptor 9 of 8"));
  q.last_avail = 0;
  offer(0, 0, 20);
  cr_assert(strstr(pop_error(), "moved by 20, more than the queue size"));
  desc(DESC, 0, DATA, 1, VIRTQ_DESC_F_NEXT, 1);
  desc(DESC, 1, DATA, 1, VIRTQ_DESC_F_NEXT, 0);
  offer(0, 0, 1);
  cr_assert(strstr(pop_error(), "loops"));
  desc(DESC, 0, DATA, 1, VIRTQ_DESC_F_NEXT, 12);
  cr_assert(strstr(pop_error(), "past the table"));
  desc(DESC, 0, 15 * MiB, 2 * MiB, 0, 0);
  cr_assert(strstr(pop_error(), "outside guest memory"));
  desc(DESC, 0, UINT64_MAX - 4, 16, 0, 0);
  cr_assert(strstr(pop_error(), "outside guest memory"), "no address overflow");
  desc(DESC, 0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
  desc(DESC, 1, DATA, 4, 0, 0);
  cr_assert(strstr(pop_error(), "readable buffer follows a writable one"));
  desc(DESC, 0, DATA + 0x1000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
  cr_assert(strstr(pop_error(), "both INDIRECT and NEXT"));
  desc(DESC, 0, DATA + 0x1000, 20, VIRTQ_DESC_F_INDIRECT, 0);
  cr_assert(strstr(pop_error(), "not a multiple of 16"));
  desc(DATA + 0x1000, 0, DATA + 0x2000, 16, VIRTQ_DESC_F_INDIRECT, 0);
  desc(DESC, 0, DATA + 0x1000, 16, VIRTQ_DESC_F_INDIRECT, 0);
  cr_assert(strstr(pop_error(), "nested indirect"));
  desc(DATA + 0x1000, 0, DATA, 1, VIRTQ_DESC_F_NEXT, 1);
  desc(DATA + 0x1000, 1, DATA, 1, VIRTQ_DESC_F_NEXT, 0);
  desc(DESC, 0, DATA + 0x1000, 32, VIRTQ_DESC_F_INDIRECT, 0);
  cr_assert(strstr(pop_error(), "indirect descriptor chain loops"));
  /* 65 buffers through an indirect table of 65 entries */
  for (uint16_t i = 0; i < 65; i++)
    desc(DATA + 0x3000, i, DATA, 1, i < 64 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
  desc(DESC, 0, DATA + 0x3000, 65 * 16, VIRTQ_DESC_F_INDIRECT, 0);
  cr_assert(strstr(pop_error(), "more than 64 buffers"));
}

Test(virtq, rings_must_fit_guest_memory_and_be_aligned)
{
  err_t e = NULL;
  q.desc = DESC + 8;
  cr_assert_eq(virtq_validate(&gm, &q, &e), -1);
  cr_assert(strstr(err_msg(e), "misaligned"));
  err_free(&e);
  q.desc = 16 * MiB - 16;
  cr_assert_eq(virtq_validate(&gm, &q, &e), -1);
  cr_assert(strstr(err_msg(e), "outside guest memory"));
  err_free(&e);
  q.desc = DESC;
  q.size = 6;
  cr_assert_eq(virtq_validate(&gm, &q, &e), -1);
  cr_assert(strstr(err_msg(e), "power of two"));
  err_free(&e);
}

Test(virtq, interrupt_suppression_with_and_without_event_index)
{
  uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
  desc(DESC, 0, DATA, 1, 0, 0);
  cr_assert_eq(virtq_push(&gm, &q, 0, 0, NULL), 0);
  guest_mem_write(&gm, AVAIL, &flags, 2, NULL);
  cr_assert_not(virtq_needs_interrupt(&gm, &q), "the driver said no interrupts");
  flags = 0;
  guest_mem_write(&gm, AVAIL, &flags, 2, NULL);
  cr_assert_eq(virtq_push(&gm, &q, 0, 0, NULL), 0);
  cr_assert(virtq_needs_interrupt(&gm, &q));
  q.event_idx = true;
  uint16_t used_event = 5; /* interrupt when used_idx passes 5 */
  guest_mem_write(&gm, AVAIL + 4 + 2 * 8, &used_event, 2, NULL);
  cr_assert_eq(virtq_push(&gm, &q, 0, 0, NULL), 0); /* used_idx 3 */
  cr_assert_not(virtq_needs_interrupt(&gm, &q));
  for (int i = 0; i < 3; i++)
    cr_assert_eq(virtq_push(&gm, &q, 0, 0, NULL), 0); /* used_idx 6 */
  cr_assert(virtq_needs_interrupt(&gm, &q));
}

/* With EVENT_IDX the driver kicks only when its avail index passes the
 * used ring's avail_event: a device that finds the ring empty must ask for
 * the next entry, or a Linux guest never kicks again (the bug the first
 * version had: avail_event stayed 0). */
Test(virtq, an_empty_ring_asks_for_a_kick_at_the_next_entry_with_event_index)
{
  q.event_idx = true;
  desc(DESC, 0, DATA, 1, 0, 0);
  offer(0, 0, 1);
  offer(1, 0, 2);
  struct virtq_req r;
  cr_assert_eq(virtq_pop(&gm, &q, &r, NULL), 1);
  cr_assert_eq(virtq_pop(&gm, &q, &r, NULL), 1);
  cr_assert_eq(virtq_pop(&gm, &q, &r, NULL), 0);
  uint16_t avail_event = 0;
  guest_mem_read(&gm, USED + 4 + 8 * 8, &avail_event, 2, NULL);
  cr_assert_eq(avail_event, 2, "kick me when entry 2 is made available");
}

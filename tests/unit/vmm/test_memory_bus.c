/* Guest memory bounds and the device bus. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

Test(memory, small_guest_is_one_region_below_the_hole)
{
  struct guest_mem gm;
  cr_assert_eq(guest_mem_create(&gm, 64 * MiB, false, NULL), 0);
  cr_assert_eq(gm.nregions, 1);
  cr_assert_eq(guest_mem_low_end(&gm), 64 * MiB);
  guest_mem_destroy(&gm);
}

Test(memory, large_guest_resumes_above_4g)
{
  struct guest_mem gm;
  cr_assert_eq(guest_mem_create(&gm, 4 * GiB, false, NULL), 0);
  cr_assert_eq(gm.nregions, 2);
  cr_assert_eq(gm.regions[0].size, LAYOUT_MMIO_START);
  cr_assert_eq(gm.regions[1].gpa, LAYOUT_MMIO_END);
  cr_assert_eq(gm.regions[1].size, 4 * GiB - LAYOUT_MMIO_START);
  cr_assert_null(guest_mem_ptr(&gm, LAYOUT_MMIO_START, 1), "the hole is not RAM");
  cr_assert_not_null(guest_mem_ptr(&gm, LAYOUT_MMIO_END, 4096));
  guest_mem_destroy(&gm);
}

Test(memory, accesses_are_bounds_checked_without_overflow)
{
  struct guest_mem gm;
  err_t e = NULL;
  cr_assert_eq(guest_mem_create(&gm, 16 * MiB, false, NULL), 0);
  uint8_t b[16] = {1, 2, 3};
  cr_assert_eq(guest_mem_write(&gm, 16 * MiB - 16, b, 16, NULL), 0);
  cr_assert_eq(guest_mem_write(&gm, 16 * MiB - 15, b, 16, &e), -1);
  cr_assert(strstr(err_msg(e), "outside guest memory"));
  err_free(&e);
  cr_assert_null(guest_mem_ptr(&gm, 8, UINT64_MAX));
  cr_assert_null(guest_mem_ptr(&gm, UINT64_MAX, 2));
  cr_assert_eq(guest_mem_read(&gm, 16 * MiB - 16, b, 16, NULL), 0);
  cr_assert_eq(b[2], 3);
  guest_mem_destroy(&gm);
}

Test(memory, sizes_out_of_range_are_refused)
{
  struct guest_mem gm;
  err_t e = NULL;
  cr_assert_eq(guest_mem_create(&gm, 8 * MiB, false, &e), -1);
  cr_assert(strstr(err_msg(e), "out of range"));
  err_free(&e);
  cr_assert_eq(guest_mem_create(&gm, 17 * MiB, true, &e), -1);
  cr_assert(strstr(err_msg(e), "multiple of 2 MiB"));
  err_free(&e);
}

static int last_off = -1, last_val = -1;
static void rec_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  last_off = (int)off;
  last_val = data[0];
}
static void rec_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  data[0] = (uint8_t)(0x40 + off);
}

Test(bus, dispatches_by_range_with_offsets)
{
  struct bus b;
  bus_init(&b, "port");
  struct bus_range com = {.name = "com", .base = 0x3f8, .len = 8, .read = rec_read,
                          .write = rec_write};
  struct bus_range kbd = {.name = "kbd", .base = 0x60, .len = 5, .read = rec_read};
  cr_assert_eq(bus_register(&b, &com, NULL), 0);
  cr_assert_eq(bus_register(&b, &kbd, NULL), 0);
  uint8_t v = 0x5a;
  cr_assert(bus_write(&b, 0x3fb, &v, 1));
  cr_assert_eq(last_off, 3);
  cr_assert_eq(last_val, 0x5a);
  cr_assert(bus_read(&b, 0x64, &v, 1));
  cr_assert_eq(v, 0x44);
  cr_assert_not(bus_read(&b, 0x400, &v, 1));
  cr_assert_eq(v, 0xff, "unclaimed reads see all ones");
  bus_release(&b);
}

Test(bus, overlapping_ranges_are_refused_by_name)
{
  struct bus b;
  err_t e = NULL;
  bus_init(&b, "MMIO");
  struct bus_range a = {.name = "virtio-blk", .base = 0x1000, .len = 0x1000};
  struct bus_range c = {.name = "virtio-net", .base = 0x1800, .len = 0x1000};
  struct bus_range d = {.name = "rng", .base = 0x800, .len = 0x801};
  cr_assert_eq(bus_register(&b, &a, NULL), 0);
  cr_assert_eq(bus_register(&b, &c, &e), -1);
  cr_assert(strstr(err_msg(e), "`virtio-net` overlaps `virtio-blk`"), "%s", err_msg(e));
  err_free(&e);
  cr_assert_eq(bus_register(&b, &d, &e), -1);
  err_free(&e);
  d.len = 0x800;
  cr_assert_eq(bus_register(&b, &d, NULL), 0, "touching is not overlapping");
  cr_assert_eq(bus_find(&b, 0xfff)->name, d.name);
  cr_assert_eq(bus_find(&b, 0x1000)->name, a.name);
  bus_release(&b);
}

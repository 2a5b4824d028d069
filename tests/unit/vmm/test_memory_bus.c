/* Guest memory bounds and the device bus. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/memory.h"
#include "vmm/snapshot/snapshot.h"

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

/* A file of `size` bytes of `byte`, or sparse (all holes) for byte < 0. */
static int temp_file(char *path, off_t size, int byte)
{
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(ftruncate(fd, size), 0);
  if (byte >= 0) {
    char *buf = malloc((size_t)size);
    memset(buf, byte, (size_t)size);
    cr_assert_eq(pwrite(fd, buf, (size_t)size, 0), size);
    free(buf);
  }
  return fd;
}

Test(memory, a_diff_save_writes_only_dirty_pages_at_their_offsets)
{
  struct guest_mem gm;
  cr_assert_eq(guest_mem_create(&gm, 16 * MiB, false, NULL), 0);
  cr_assert_not(guest_mem_tracking(&gm));
  cr_assert_eq(guest_mem_track_dirty(&gm, NULL), 0);
  uint8_t x[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  /* a write straddling pages 2 and 3, and one the guest made (KVM's log) */
  cr_assert_eq(guest_mem_write(&gm, 3 * GUEST_PAGE - 4, x, 8, NULL), 0);
  uint64_t *kvm = calloc(1, guest_mem_bitmap_size(&gm, 0));
  kvm[0] = 1ULL << 7;
  memset(guest_mem_ptr(&gm, 7 * GUEST_PAGE, GUEST_PAGE), 7, GUEST_PAGE);
  guest_mem_merge_dirty(&gm, 0, kvm);
  free(kvm);
  char path[] = "/tmp/isola-test-diff-XXXXXX";
  int fd = temp_file(path, 0, -1);
  uint64_t pages = 0;
  cr_assert_eq(guest_mem_save(&gm, fd, true, &pages, NULL), 0);
  cr_assert_eq(pages, 3);
  cr_assert_eq(lseek(fd, 0, SEEK_END), 16 * MiB, "the file has the memory's size");
  cr_assert_eq(lseek(fd, 0, SEEK_DATA), 2 * GUEST_PAGE, "holes before the first dirty page");
  uint8_t b = 0;
  cr_assert_eq(pread(fd, &b, 1, 7 * GUEST_PAGE), 1);
  cr_assert_eq(b, 7);
  cr_assert_eq(pread(fd, &b, 1, 3 * GUEST_PAGE + 3), 1);
  cr_assert_eq(b, 9);
  /* cleared, the next diff is empty; untracked memory cannot save one */
  guest_mem_clear_dirty(&gm);
  cr_assert_eq(guest_mem_save(&gm, fd, true, &pages, NULL), 0);
  cr_assert_eq(pages, 0);
  close(fd);
  unlink(path);
  guest_mem_destroy(&gm);
}

/* A Linux guest's memory above the 32-bit hole is a second KVM slot with
 * its own dirty log: its pages go at file offsets that follow the first
 * region's (not at their guest addresses), and a restore maps them back
 * from there. */
Test(memory, a_diff_above_the_hole_restores_at_the_same_guest_addresses)
{
  struct guest_mem gm;
  cr_assert_eq(guest_mem_create(&gm, 4 * GiB, false, NULL), 0);
  cr_assert_eq(gm.nregions, 2);
  cr_assert_eq(guest_mem_track_dirty(&gm, NULL), 0);
  const uint64_t high = LAYOUT_MMIO_END + 5 * GUEST_PAGE, at = LAYOUT_MMIO_START + 5 * GUEST_PAGE;
  /* the VMM's write above the hole, and the guest's (KVM's log of slot 1) */
  cr_assert_eq(guest_mem_write(&gm, high, "vmm", 4, NULL), 0);
  uint64_t *kvm = calloc(1, guest_mem_bitmap_size(&gm, 1));
  kvm[0] = 1ULL << 9;
  memcpy(guest_mem_ptr(&gm, LAYOUT_MMIO_END + 9 * GUEST_PAGE, 6), "guest", 6);
  guest_mem_merge_dirty(&gm, 1, kvm);
  free(kvm);
  cr_assert(guest_mem_is_dirty(&gm, high + 100));
  cr_assert_not(guest_mem_is_dirty(&gm, 5 * GUEST_PAGE), "slot 0's page of the same index is clean");
  char base[] = "/tmp/isola-test-base-XXXXXX", diff[] = "/tmp/isola-test-diff-XXXXXX";
  int d = temp_file(diff, 0, -1);
  uint64_t pages = 0;
  cr_assert_eq(guest_mem_save(&gm, d, true, &pages, NULL), 0);
  cr_assert_eq(pages, 2);
  cr_assert_eq(lseek(d, 0, SEEK_DATA), (off_t)at, "the first data is slot 1's page 5");
  close(d);
  guest_mem_destroy(&gm);
  close(temp_file(base, (off_t)(4 * GiB), -1));
  cr_assert_eq(snapshot_rebase(base, diff, NULL), 0);
  int b = open(base, O_RDONLY);
  cr_assert_eq(guest_mem_create_from(&gm, 4 * GiB, false, b, NULL), 0);
  close(b);
  cr_assert_str_eq(guest_mem_ptr(&gm, high, 4), "vmm");
  cr_assert_str_eq(guest_mem_ptr(&gm, LAYOUT_MMIO_END + 9 * GUEST_PAGE, 6), "guest");
  cr_assert_eq(*(char *)guest_mem_ptr(&gm, 5 * GUEST_PAGE, 1), 0);
  guest_mem_destroy(&gm);
  unlink(base);
  unlink(diff);
}

Test(memory, rebase_copies_a_diffs_data_onto_its_base)
{
  char base[] = "/tmp/isola-test-base-XXXXXX", diff[] = "/tmp/isola-test-diff-XXXXXX";
  char other[] = "/tmp/isola-test-other-XXXXXX";
  close(temp_file(base, 64 * 1024, 'a'));
  int d = temp_file(diff, 64 * 1024, -1);
  cr_assert_eq(pwrite(d, "bbbb", 4, 5 * 4096), 4);
  close(d);
  cr_assert_eq(snapshot_rebase(base, diff, NULL), 0);
  int b = open(base, O_RDONLY);
  char got[6] = {0};
  cr_assert_eq(pread(b, got, 5, 5 * 4096 - 1), 5);
  cr_assert_str_eq(got, "abbbb", "the diff's data lands at its offset");
  cr_assert_eq(pread(b, got, 1, 5 * 4096 + 4), 1);
  cr_assert_eq(got[0], 0, "the diff's page is copied whole, zeros too");
  cr_assert_eq(pread(b, got, 1, 0), 1);
  cr_assert_eq(got[0], 'a', "its holes leave the base alone");
  close(b);
  close(temp_file(other, 4096, 'c'));
  err_t e = NULL;
  cr_assert_eq(snapshot_rebase(other, diff, &e), -1);
  cr_assert(strstr(err_msg(e), "the same machine's memory"), "%s", err_msg(e));
  err_free(&e);
  unlink(base);
  unlink(diff);
  unlink(other);
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

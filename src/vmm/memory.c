#include "vmm/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"

#include "vmm/layout.h"

static int map_region(struct guest_region *r, uint64_t gpa, uint64_t size, bool huge, int fd, uint64_t off,
                      err_t *err)
{
  /* Hugepages are reserved at mmap time (no MAP_NORESERVE), so a shortage
   * is an error here rather than a fault in the middle of the boot.  A
   * snapshot's memory file is mapped private: pages fault in lazily from
   * the file and the guest's writes stay in this process (copy-on-write),
   * so many VMs can be restored from one file at once. */
  int flags = MAP_PRIVATE | (fd >= 0 ? 0 : MAP_ANONYMOUS) | (huge ? MAP_HUGETLB : MAP_NORESERVE);
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, (off_t)off);
  if (p == MAP_FAILED) {
    if (huge)
      return err_sys(err, "cannot map %llu MiB of guest memory with 2 MiB hugepages (reserve "
                          "them in /proc/sys/vm/nr_hugepages, or drop --hugepages)",
                     (unsigned long long)(size / MiB));
    return err_sys(err, "cannot map %llu MiB of guest memory", (unsigned long long)(size / MiB));
  }
  /* Transparent hugepages shorten the guest's page walks when they are on. */
  if (!huge)
    madvise(p, size, MADV_HUGEPAGE);
  r->gpa = gpa;
  r->size = size;
  r->host = p;
  return 0;
}

int guest_mem_create(struct guest_mem *gm, uint64_t bytes, bool hugepages, err_t *err)
{
  return guest_mem_create_from(gm, bytes, hugepages, -1, err);
}

int guest_mem_create_from(struct guest_mem *gm, uint64_t bytes, bool hugepages, int fd, err_t *err)
{
  memset(gm, 0, sizeof(*gm));
  if (bytes < VMM_MIN_MEMORY || bytes > VMM_MAX_MEMORY)
    return err_make(err, EINVAL, "guest memory of %llu MiB is out of range (%llu MiB to %llu GiB)",
                    (unsigned long long)(bytes / MiB), (unsigned long long)(VMM_MIN_MEMORY / MiB),
                    (unsigned long long)(VMM_MAX_MEMORY / GiB));
  if (hugepages && bytes % (2 * MiB))
    return err_make(err, EINVAL, "guest memory must be a multiple of 2 MiB with --hugepages");
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) < 0)
    return err_sys(err, "cannot stat the memory file");
  /* a short file would fault (SIGBUS) where the guest's pages are missing */
  if (fd >= 0 && (uint64_t)st.st_size < bytes)
    return err_make(err, EINVAL, "the memory file holds %llu bytes where the snapshot's machine has %llu",
                    (unsigned long long)st.st_size, (unsigned long long)bytes);
  if (fd >= 0) {
    gm->from_file = true;
    gm->file_dev = st.st_dev;
    gm->file_ino = st.st_ino;
  }
  uint64_t low = bytes < LAYOUT_MMIO_START ? bytes : LAYOUT_MMIO_START;
  if (map_region(&gm->regions[0], 0, low, hugepages, fd, 0, err) < 0)
    return -1;
  gm->nregions = 1;
  if (bytes > low) {
    if (map_region(&gm->regions[1], LAYOUT_MMIO_END, bytes - low, hugepages, fd, low, err) < 0) {
      guest_mem_destroy(gm);
      return -1;
    }
    gm->nregions = 2;
  }
  gm->total = bytes;
  return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
  for (int i = 0; i < gm->nregions; i++) {
    munmap(gm->regions[i].host, gm->regions[i].size);
    free(gm->dirty[i]);
    gm->dirty[i] = NULL;
  }
  gm->nregions = 0;
  gm->total = 0;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
  for (int i = 0; i < gm->nregions; i++) {
    const struct guest_region *r = &gm->regions[i];
    if (gpa < r->gpa)
      continue;
    uint64_t off = gpa - r->gpa;
    if (off >= r->size || len > r->size - off)
      continue;
    return r->host + off;
  }
  return NULL;
}

static void *checked(const struct guest_mem *gm, uint64_t gpa, uint64_t len, err_t *err)
{
  void *p = guest_mem_ptr(gm, gpa, len);
  if (!p)
    err_make(err, EFAULT, "guest range 0x%llx+0x%llx is outside guest memory",
             (unsigned long long)gpa, (unsigned long long)len);
  return p;
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len, err_t *err)
{
  void *p = checked(gm, gpa, len, err);
  if (!p)
    return -1;
  memcpy(dst, p, len);
  return 0;
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len,
                    err_t *err)
{
  void *p = checked(gm, gpa, len, err);
  if (!p)
    return -1;
  memcpy(p, src, len);
  guest_mem_mark_dirty(gm, gpa, len);
  return 0;
}

int guest_mem_fill(const struct guest_mem *gm, uint64_t gpa, int byte, uint64_t len, err_t *err)
{
  void *p = checked(gm, gpa, len, err);
  if (!p)
    return -1;
  memset(p, byte, len);
  guest_mem_mark_dirty(gm, gpa, len);
  return 0;
}

size_t guest_mem_bitmap_size(const struct guest_mem *gm, int i)
{
  uint64_t pages = (gm->regions[i].size + GUEST_PAGE - 1) / GUEST_PAGE;
  return (size_t)((pages + 63) / 64) * 8;
}

int guest_mem_track_dirty(struct guest_mem *gm, err_t *err)
{
  for (int i = 0; i < gm->nregions; i++)
    if (!gm->dirty[i] && !(gm->dirty[i] = calloc(1, guest_mem_bitmap_size(gm, i))))
      return err_make(err, ENOMEM, "out of memory for the dirty-page bitmap");
  return 0;
}

bool guest_mem_tracking(const struct guest_mem *gm)
{
  return gm->nregions && gm->dirty[0];
}

void guest_mem_mark_dirty(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
  if (!len || !guest_mem_tracking(gm))
    return;
  for (int i = 0; i < gm->nregions; i++) {
    const struct guest_region *r = &gm->regions[i];
    if (gpa < r->gpa || gpa - r->gpa >= r->size)
      continue;
    uint64_t first = (gpa - r->gpa) / GUEST_PAGE;
    uint64_t end = gpa - r->gpa + len > r->size ? r->size : gpa - r->gpa + len;
    uint64_t last = (end - 1) / GUEST_PAGE;
    for (uint64_t p = first; p <= last; p++)
      __atomic_fetch_or(&gm->dirty[i][p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
    return;
  }
}

void guest_mem_merge_dirty(struct guest_mem *gm, int i, const uint64_t *bits)
{
  size_t words = guest_mem_bitmap_size(gm, i) / 8;
  for (size_t w = 0; w < words; w++)
    __atomic_fetch_or(&gm->dirty[i][w], bits[w], __ATOMIC_RELAXED);
}

void guest_mem_clear_dirty(struct guest_mem *gm)
{
  for (int i = 0; i < gm->nregions; i++)
    if (gm->dirty[i])
      memset(gm->dirty[i], 0, guest_mem_bitmap_size(gm, i));
}

static bool page_dirty(const struct guest_mem *gm, int i, uint64_t p)
{
  return gm->dirty[i][p / 64] & (1ULL << (p % 64));
}

bool guest_mem_is_dirty(const struct guest_mem *gm, uint64_t gpa)
{
  for (int i = 0; guest_mem_tracking(gm) && i < gm->nregions; i++)
    if (gpa >= gm->regions[i].gpa && gpa - gm->regions[i].gpa < gm->regions[i].size)
      return page_dirty(gm, i, (gpa - gm->regions[i].gpa) / GUEST_PAGE);
  return false;
}

int guest_mem_save(const struct guest_mem *gm, int fd, bool only_dirty, uint64_t *pages, err_t *err)
{
  uint64_t off = 0;
  *pages = 0;
  if (only_dirty && !guest_mem_tracking(gm))
    return err_make(err, EINVAL, "dirty pages are not tracked");
  if (ftruncate(fd, (off_t)gm->total) < 0)
    return err_sys(err, "cannot size the memory file");
  for (int i = 0; i < gm->nregions; off += gm->regions[i++].size) {
    const struct guest_region *r = &gm->regions[i];
    uint64_t n = (r->size + GUEST_PAGE - 1) / GUEST_PAGE;
    for (uint64_t p = 0; p < n;) {
      if (only_dirty && !page_dirty(gm, i, p)) {
        /* a clean word skips 64 pages at once */
        p = gm->dirty[i][p / 64] ? p + 1 : (p / 64 + 1) * 64;
        continue;
      }
      /* one write for a run of dirty pages */
      uint64_t q = p + 1;
      while (q < n && (!only_dirty || page_dirty(gm, i, q)))
        q++;
      uint64_t at = p * GUEST_PAGE, len = (q * GUEST_PAGE > r->size ? r->size : q * GUEST_PAGE) - at;
      if (fd_pwrite_all(fd, r->host + at, len, (off_t)(off + at), err) < 0)
        return -1;
      *pages += q - p;
      p = q;
    }
  }
  return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *gm)
{
  return gm->nregions ? gm->regions[0].size : 0;
}

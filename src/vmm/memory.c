#include "vmm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

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
  for (int i = 0; i < gm->nregions; i++)
    munmap(gm->regions[i].host, gm->regions[i].size);
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
  return 0;
}

int guest_mem_fill(const struct guest_mem *gm, uint64_t gpa, int byte, uint64_t len, err_t *err)
{
  void *p = checked(gm, gpa, len, err);
  if (!p)
    return -1;
  memset(p, byte, len);
  return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *gm)
{
  return gm->nregions ? gm->regions[0].size : 0;
}

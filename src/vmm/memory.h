/* Guest memory: one anonymous mapping per region, every access through the
 * bounds-checked helpers below (never pointer math on a guest address). */
#ifndef ISOLA_VMM_MEMORY_H
#define ISOLA_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define GUEST_MEM_MAX_REGIONS 2

struct guest_region {
  uint64_t gpa;
  uint64_t size;
  uint8_t *host;
};

#define GUEST_PAGE 4096ULL

struct guest_mem {
  struct guest_region regions[GUEST_MEM_MAX_REGIONS];
  int nregions;
  uint64_t total; /* bytes of RAM over all regions */
  /* dirty-page tracking (diff snapshots): a bit per page per region, set by
   * the VMM's own writes and merged with KVM's log; NULL when off */
  uint64_t *dirty[GUEST_MEM_MAX_REGIONS];
  /* the file the memory is mapped from (a snapshot's), to refuse writing
   * a snapshot over it */
  bool from_file;
  dev_t file_dev;
  ino_t file_ino;
};

/* Lay `bytes` of RAM out below the 32-bit hole and above 4 GiB and map it.
 * `hugepages` maps with MAP_HUGETLB (2 MiB pages must be reserved). */
int guest_mem_create(struct guest_mem *gm, uint64_t bytes, bool hugepages, err_t *err);
/* The same layout mapped privately from a file holding the regions one
 * after the other (a snapshot's memory file); fd -1: anonymous. */
int guest_mem_create_from(struct guest_mem *gm, uint64_t bytes, bool hugepages, int fd, err_t *err);
void guest_mem_destroy(struct guest_mem *gm);

/* Host pointer to [gpa, gpa+len) when the whole range lies in one region,
 * else NULL.  The range check cannot overflow. */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len, err_t *err);
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len,
                    err_t *err);
int guest_mem_fill(const struct guest_mem *gm, uint64_t gpa, int byte, uint64_t len, err_t *err);

/* Dirty-page tracking: start it (every page clean), mark a range the VMM
 * wrote, OR in KVM's bitmap of region `i` (a bit per page), forget it all
 * (after a snapshot).  Marking is atomic: device and vCPU threads write. */
int guest_mem_track_dirty(struct guest_mem *gm, err_t *err);
bool guest_mem_tracking(const struct guest_mem *gm);
void guest_mem_mark_dirty(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
void guest_mem_merge_dirty(struct guest_mem *gm, int i, const uint64_t *bits);
void guest_mem_clear_dirty(struct guest_mem *gm);
/* Whether the page holding `gpa` is marked (false when not tracking). */
bool guest_mem_is_dirty(const struct guest_mem *gm, uint64_t gpa);
/* Bytes of one region's bitmap. */
size_t guest_mem_bitmap_size(const struct guest_mem *gm, int i);

/* Write the memory to `fd` as a snapshot's memory file (the regions one
 * after the other): all of it, or only the dirty pages at their offsets
 * (the file keeps its size; pages not written stay as they were, holes in
 * a new file).  *pages: how many pages were written. */
int guest_mem_save(const struct guest_mem *gm, int fd, bool only_dirty, uint64_t *pages, err_t *err);

/* End of the RAM region that starts at 0 (below the 32-bit hole). */
uint64_t guest_mem_low_end(const struct guest_mem *gm);

#endif

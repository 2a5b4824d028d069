/* Guest memory: one anonymous mapping per region, every access through the
 * bounds-checked helpers below (never pointer math on a guest address). */
#ifndef ISOLA_VMM_MEMORY_H
#define ISOLA_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GUEST_MEM_MAX_REGIONS 2

struct guest_region {
  uint64_t gpa;
  uint64_t size;
  uint8_t *host;
};

struct guest_mem {
  struct guest_region regions[GUEST_MEM_MAX_REGIONS];
  int nregions;
  uint64_t total; /* bytes of RAM over all regions */
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

/* End of the RAM region that starts at 0 (below the 32-bit hole). */
uint64_t guest_mem_low_end(const struct guest_mem *gm);

#endif

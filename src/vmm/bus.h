/* The device bus: port-I/O or MMIO ranges mapped to read/write callbacks.
 * Devices register before the vCPUs start; lookups afterwards are
 * read-only, so vCPU threads share a bus without a lock (each device
 * serialises its own state). */
#ifndef ISOLA_VMM_BUS_H
#define ISOLA_VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* `offset` is relative to the range's base; len is 1, 2, 4 or 8. */
typedef void (*bus_read_fn)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
typedef void (*bus_write_fn)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);

struct bus_range {
  const char *name;
  uint64_t base, len;
  void *dev;
  bus_read_fn read;   /* NULL: reads return all ones */
  bus_write_fn write; /* NULL: writes are dropped */
};

struct bus {
  const char *kind; /* "port" or "MMIO", for messages */
  struct bus_range *ranges; /* sorted by base, never overlapping */
  size_t n;
};

void bus_init(struct bus *b, const char *kind);
void bus_release(struct bus *b);

/* Fails with a message naming both devices when the range overlaps one. */
int bus_register(struct bus *b, const struct bus_range *r, err_t *err);

const struct bus_range *bus_find(const struct bus *b, uint64_t addr);

/* false when no device claims `addr` (reads then see all ones). */
bool bus_read(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(const struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len);

#endif

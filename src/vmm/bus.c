#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *b, const char *kind)
{
  memset(b, 0, sizeof(*b));
  b->kind = kind;
}

void bus_release(struct bus *b)
{
  free(b->ranges);
  b->ranges = NULL;
  b->n = 0;
}

int bus_register(struct bus *b, const struct bus_range *r, err_t *err)
{
  if (r->len == 0 || r->base + r->len < r->base)
    return err_make(err, EINVAL, "%s range of `%s` at 0x%llx has a bad length 0x%llx", b->kind,
                    r->name, (unsigned long long)r->base, (unsigned long long)r->len);
  size_t at = 0;
  while (at < b->n && b->ranges[at].base < r->base)
    at++;
  const struct bus_range *prev = at ? &b->ranges[at - 1] : NULL;
  const struct bus_range *next = at < b->n ? &b->ranges[at] : NULL;
  const struct bus_range *clash = NULL;
  if (prev && prev->base + prev->len > r->base)
    clash = prev;
  else if (next && r->base + r->len > next->base)
    clash = next;
  if (clash)
    return err_make(err, EBUSY, "%s range 0x%llx+0x%llx of `%s` overlaps `%s` at 0x%llx+0x%llx",
                    b->kind, (unsigned long long)r->base, (unsigned long long)r->len, r->name,
                    clash->name, (unsigned long long)clash->base,
                    (unsigned long long)clash->len);
  struct bus_range *grown = realloc(b->ranges, (b->n + 1) * sizeof(*grown));
  if (!grown)
    return err_sys(err, "cannot register `%s`", r->name);
  memmove(grown + at + 1, grown + at, (b->n - at) * sizeof(*grown));
  grown[at] = *r;
  b->ranges = grown;
  b->n++;
  return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
  size_t lo = 0, hi = b->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct bus_range *r = &b->ranges[mid];
    if (addr < r->base)
      hi = mid;
    else if (addr - r->base >= r->len)
      lo = mid + 1;
    else
      return r;
  }
  return NULL;
}

bool bus_read(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len)
{
  const struct bus_range *r = bus_find(b, addr);
  memset(data, 0xff, len);
  if (!r)
    return false;
  if (r->read)
    r->read(r->dev, addr - r->base, data, len);
  return true;
}

bool bus_write(const struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len)
{
  const struct bus_range *r = bus_find(b, addr);
  if (!r)
    return false;
  if (r->write)
    r->write(r->dev, addr - r->base, data, len);
  return true;
}

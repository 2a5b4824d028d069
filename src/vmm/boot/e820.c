#include "vmm/boot/boot.h"
#include "vmm/layout.h"

static int add(struct e820_entry *out, int n, int max, uint64_t addr, uint64_t end, uint32_t type)
{
  if (n >= max || end <= addr)
    return n;
  out[n].addr = addr;
  out[n].size = end - addr;
  out[n].type = type;
  return n + 1;
}

int e820_build(const struct guest_mem *gm, struct e820_entry *out, int max)
{
  int n = 0;
  n = add(out, n, max, 0, LAYOUT_EBDA, E820_RAM);
  n = add(out, n, max, LAYOUT_EBDA, LAYOUT_EBDA_END, E820_RESERVED);
  n = add(out, n, max, LAYOUT_ACPI, LAYOUT_ACPI_END, E820_RESERVED);
  n = add(out, n, max, LAYOUT_HIMEM, guest_mem_low_end(gm), E820_RAM);
  for (int i = 1; i < gm->nregions; i++)
    n = add(out, n, max, gm->regions[i].gpa, gm->regions[i].gpa + gm->regions[i].size, E820_RAM);
  return n;
}

uint8_t boot_checksum(const void *p, uint64_t len)
{
  const uint8_t *b = p;
  uint8_t sum = 0;
  for (uint64_t i = 0; i < len; i++)
    sum = (uint8_t)(sum + b[i]);
  return sum;
}

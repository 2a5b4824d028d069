/* PVH start info (xen/include/public/arch-x86/hvm/start_info.h, version 1):
 * the struct, then the memory map, then the initrd as module 0. */
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

int boot_write_pvh_info(const struct guest_mem *gm, const struct boot_config *bc, uint64_t rsdp,
                        err_t *err)
{
  struct e820_entry e820[E820_MAX_ENTRIES];
  int n = e820_build(gm, e820, E820_MAX_ENTRIES);
  uint64_t memmap = LAYOUT_PVH_INFO + sizeof(struct hvm_start_info);
  uint64_t modlist = memmap + (uint64_t)n * sizeof(struct hvm_memmap_entry);
  struct hvm_start_info si = {
      .magic = HVM_START_MAGIC,
      .version = 1,
      .cmdline_paddr = LAYOUT_CMDLINE,
      .rsdp_paddr = rsdp,
      .memmap_paddr = memmap,
      .memmap_entries = (uint32_t)n,
  };
  if (bc->initrd_size) {
    struct hvm_modlist_entry mod = {.paddr = bc->initrd_addr, .size = bc->initrd_size};
    si.nr_modules = 1;
    si.modlist_paddr = modlist;
    if (guest_mem_write(gm, modlist, &mod, sizeof(mod), err) < 0)
      return -1;
  }
  for (int i = 0; i < n; i++) {
    struct hvm_memmap_entry m = {.addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type};
    if (guest_mem_write(gm, memmap + (uint64_t)i * sizeof(m), &m, sizeof(m), err) < 0)
      return -1;
  }
  return guest_mem_write(gm, LAYOUT_PVH_INFO, &si, sizeof(si), err);
}

/* The boot GDT and identity-mapped page tables the VMM promises at a 64-bit
 * entry (boot.rst "64-bit BOOT PROTOCOL": flat __BOOT_CS/__BOOT_DS, paging
 * on, the kernel, zero page and command line identity mapped). */
#include "vmm/boot/boot.h"
#include "vmm/layout.h"

#define PTE_PRESENT 0x1ULL
#define PTE_WRITE 0x2ULL
#define PTE_HUGE 0x80ULL

int boot_write_gdt_and_page_tables(const struct guest_mem *gm, bool code64, err_t *err)
{
  uint64_t gdt[] = {0, 0, code64 ? GDT_CODE64 : GDT_CODE32, GDT_DATA, GDT_TSS};
  uint64_t idt = 0;
  if (guest_mem_write(gm, LAYOUT_GDT, gdt, sizeof(gdt), err) < 0 ||
      guest_mem_write(gm, LAYOUT_IDT, &idt, sizeof(idt), err) < 0)
    return -1;

  uint64_t pml4 = LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE;
  if (guest_mem_fill(gm, LAYOUT_PML4, 0, 0x1000, err) < 0 ||
      guest_mem_write(gm, LAYOUT_PML4, &pml4, sizeof(pml4), err) < 0 ||
      guest_mem_fill(gm, LAYOUT_PDPT, 0, 0x1000, err) < 0)
    return -1;
  for (uint64_t g = 0; g < 4; g++) {
    uint64_t pd = LAYOUT_PD + g * 0x1000;
    uint64_t pdpte = pd | PTE_PRESENT | PTE_WRITE;
    if (guest_mem_write(gm, LAYOUT_PDPT + g * 8, &pdpte, 8, err) < 0)
      return -1;
    for (uint64_t i = 0; i < 512; i++) {
      uint64_t pde = (g * GiB + i * 2 * MiB) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
      if (guest_mem_write(gm, pd + i * 8, &pde, 8, err) < 0)
        return -1;
    }
  }
  return 0;
}

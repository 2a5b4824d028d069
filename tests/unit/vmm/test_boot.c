/* Boot structures written into a guest memory without KVM: e820, zero page,
 * PVH start info, MP and ACPI tables, page tables, kernel loaders. */
#include <criterion/criterion.h>
#include <elf.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

static struct guest_mem gm;

static void setup(void)
{
  cr_assert_eq(guest_mem_create(&gm, 64 * MiB, false, NULL), 0);
}
static void teardown(void)
{
  guest_mem_destroy(&gm);
}

TestSuite(boot, .init = setup, .fini = teardown);

static const uint8_t *at(uint64_t gpa)
{
  return guest_mem_ptr(&gm, gpa, 1);
}

Test(boot, e820_map_is_ram_reserved_bios_and_ram_above_1m)
{
  struct e820_entry e[8];
  int n = e820_build(&gm, e, 8);
  cr_assert_eq(n, 4);
  cr_assert_eq(e[0].addr, 0);
  cr_assert_eq(e[0].size, LAYOUT_EBDA);
  cr_assert_eq(e[0].type, E820_RAM);
  cr_assert_eq(e[2].addr, LAYOUT_ACPI);
  cr_assert_eq(e[2].type, E820_RESERVED);
  cr_assert_eq(e[3].addr + e[3].size, 64 * MiB);
}

Test(boot, acpi_tables_have_valid_checksums_and_list_every_cpu)
{
  uint64_t rsdp;
  cr_assert_eq(acpi_write(&gm, 6, NULL, 0, &rsdp, NULL), 0);
  const uint8_t *r = at(rsdp);
  cr_assert_eq(memcmp(r, "RSD PTR ", 8), 0);
  cr_assert_eq(boot_checksum(r, 20), 0);
  cr_assert_eq(boot_checksum(r, 36), 0);
  uint64_t xsdt;
  memcpy(&xsdt, r + 24, 8);
  const uint8_t *x = at(xsdt);
  uint32_t xlen;
  memcpy(&xlen, x + 4, 4);
  cr_assert_eq(boot_checksum(x, xlen), 0);
  int cpus = -1, fadt_ok = 0;
  for (uint32_t i = 0; i < (xlen - 36) / 8; i++) {
    uint64_t a;
    memcpy(&a, x + 36 + 8 * i, 8);
    const uint8_t *t = at(a);
    uint32_t len;
    memcpy(&len, t + 4, 4);
    cr_assert_eq(boot_checksum(t, len), 0, "%.4s checksum", t);
    if (!memcmp(t, "APIC", 4)) {
      cpus = 0;
      for (uint32_t off = 44; off < len; off += t[off + 1])
        cpus += t[off] == 0;
    }
    if (!memcmp(t, "FACP", 4)) {
      uint32_t flags;
      uint64_t dsdt;
      memcpy(&flags, t + 112, 4);
      memcpy(&dsdt, t + 140, 8);
      cr_assert(flags & (1u << 20), "hardware-reduced");
      const uint8_t *d = at(dsdt);
      cr_assert_eq(memcmp(d, "DSDT", 4), 0);
      uint32_t dlen;
      memcpy(&dlen, d + 4, 4);
      cr_assert_eq(boot_checksum(d, dlen), 0);
      cr_assert(memmem(d, dlen, "_S5_", 4), "DSDT has \\_S5 for power off");
      cr_assert(memmem(d, dlen, "\x41\xd0\x05\x01", 4), "COM1 is EisaId PNP0501");
      fadt_ok = 1;
    }
  }
  cr_assert_eq(cpus, 6);
  cr_assert(fadt_ok);
}

Test(boot, mp_table_lists_cpus_bus_ioapic_and_isa_irqs)
{
  cr_assert_eq(mptable_write(&gm, 254, NULL), 0, "the largest VM fits the BIOS area");
  const uint8_t *f = at(LAYOUT_MPTABLE);
  cr_assert_eq(memcmp(f, "_MP_", 4), 0);
  cr_assert_eq(boot_checksum(f, 16), 0);
  uint32_t table;
  memcpy(&table, f + 4, 4);
  const uint8_t *t = at(table);
  uint16_t len, count;
  memcpy(&len, t + 4, 2);
  memcpy(&count, t + 34, 2);
  cr_assert_eq(memcmp(t, "PCMP", 4), 0);
  cr_assert_eq(boot_checksum(t, len), 0);
  cr_assert_eq(count, 254 + 1 + 1 + 16 + 2);
  cr_assert_eq(t[44 + 3] & 3, 3, "CPU 0 is enabled and the bootstrap processor");
}

Test(boot, page_tables_identity_map_4g_with_2m_pages)
{
  cr_assert_eq(boot_write_gdt_and_page_tables(&gm, true, NULL), 0);
  uint64_t pml4, pdpt3, pde;
  memcpy(&pml4, at(LAYOUT_PML4), 8);
  cr_assert_eq(pml4 & ~0xfffULL, LAYOUT_PDPT);
  memcpy(&pdpt3, at(LAYOUT_PDPT + 24), 8);
  memcpy(&pde, at((pdpt3 & ~0xfffULL) + 511 * 8), 8);
  cr_assert_eq(pde & ~0xfffULL, 4 * GiB - 2 * MiB);
  cr_assert_eq(pde & 0x83, 0x83);
  uint64_t code;
  memcpy(&code, at(LAYOUT_GDT + SEL_CODE), 8);
  cr_assert_eq(code, GDT_CODE64);
}

static int image_fd(const void *data, size_t n)
{
  int fd = memfd_create("kernel", 0);
  cr_assert_eq(write(fd, data, n), (ssize_t)n);
  return fd;
}

static void bzimage(uint8_t *img, size_t size, uint16_t version)
{
  memset(img, 0, size);
  img[0x1f1] = 1;
  memcpy(img + 0x1fe, "\x55\xaa", 2);
  memcpy(img + 0x202, "HdrS", 4);
  memcpy(img + 0x206, &version, 2);
  img[0x211] = LOADED_HIGH;
  uint32_t v = 0x100000;
  memcpy(img + 0x214, &v, 4);
  v = 0x7fffffff;
  memcpy(img + 0x22c, &v, 4);
  uint16_t xl = XLF_KERNEL_64;
  memcpy(img + 0x236, &xl, 2);
  v = 2047;
  memcpy(img + 0x238, &v, 4);
  img[0x400] = 0xf4; /* first byte of the protected-mode part */
}

Test(boot, bzimage_loads_at_1m_with_the_64bit_entry)
{
  static uint8_t img[8192];
  bzimage(img, sizeof(img), 0x020f);
  int fd = image_fd(img, sizeof(img));
  struct kernel_info ki;
  cr_assert_eq(kernel_load(&gm, fd, "k", &ki, NULL), 0);
  cr_assert_str_eq(ki.format, "bzImage");
  cr_assert_eq(ki.entry, 0x100200);
  cr_assert_eq(ki.cmdline_max, 2047);
  cr_assert_eq(*at(0x100000), 0xf4);
  close(fd);
}

Test(boot, bzimage_with_an_old_protocol_is_refused)
{
  static uint8_t img[8192];
  bzimage(img, sizeof(img), 0x0206);
  int fd = image_fd(img, sizeof(img));
  struct kernel_info ki;
  err_t e = NULL;
  cr_assert_eq(kernel_load(&gm, fd, "old", &ki, &e), -1);
  cr_assert(strstr(err_msg(e), "boot protocol 2.06, too old"), "%s", err_msg(e));
  err_free(&e);
  close(fd);
}

Test(boot, elf_with_pvh_note_enters_at_the_note)
{
  static uint8_t img[4096];
  memset(img, 0, sizeof(img));
  Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
  memcpy(eh->e_ident, ELFMAG, SELFMAG);
  eh->e_ident[EI_CLASS] = ELFCLASS64;
  eh->e_ident[EI_DATA] = ELFDATA2LSB;
  eh->e_type = ET_EXEC;
  eh->e_machine = EM_X86_64;
  eh->e_entry = 0x200200;
  eh->e_phoff = sizeof(*eh);
  eh->e_phentsize = sizeof(Elf64_Phdr);
  eh->e_phnum = 2;
  Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
  ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 0x800, .p_paddr = 0x200000,
                       .p_filesz = 0x100, .p_memsz = 0x10000};
  ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x400, .p_filesz = 20};
  uint32_t note[5] = {4, 4, XEN_ELFNOTE_PHYS32_ENTRY, 0x006e6558 /* "Xen\0" */, 0x200040};
  memcpy(img + 0x400, note, sizeof(note));
  int fd = image_fd(img, sizeof(img));
  struct kernel_info ki;
  cr_assert_eq(kernel_load(&gm, fd, "pvh", &ki, NULL), 0);
  cr_assert_str_eq(ki.format, "PVH ELF");
  cr_assert_eq(ki.proto, BOOT_PVH);
  cr_assert_eq(ki.entry, 0x200040);
  cr_assert_eq(ki.load_end, 0x210000);
  close(fd);
  /* The same image without the note is entered at e_entry in 64-bit mode. */
  ph[1].p_type = PT_NULL;
  fd = image_fd(img, sizeof(img));
  cr_assert_eq(kernel_load(&gm, fd, "elf", &ki, NULL), 0);
  cr_assert_eq(ki.proto, BOOT_LINUX64);
  cr_assert_eq(ki.entry, 0x200200);
  close(fd);
  /* A segment past the end of the file is refused. */
  ph[0].p_filesz = 0x10000;
  fd = image_fd(img, sizeof(img));
  err_t e = NULL;
  cr_assert_eq(kernel_load(&gm, fd, "bad", &ki, &e), -1);
  cr_assert(strstr(err_msg(e), "lies outside the file"), "%s", err_msg(e));
  err_free(&e);
  close(fd);
}

Test(boot, zero_page_carries_cmdline_initrd_rsdp_and_e820)
{
  struct kernel_info ki = {.format = "ELF", .proto = BOOT_LINUX64, .load_start = 0x100000,
                           .load_end = 0x200000, .cmdline_max = 100,
                           .initrd_limit = LAYOUT_MMIO_START};
  struct boot_config bc = {.cmdline = "console=ttyS0", .initrd_addr = 0x3000000,
                           .initrd_size = 0x1234, .ncpus = 1};
  cr_assert_eq(boot_write_cmdline(&gm, &ki, bc.cmdline, NULL), 0);
  cr_assert_eq(boot_write_zero_page(&gm, &ki, &bc, 0xe0000, NULL), 0);
  const struct boot_params *bp = (const struct boot_params *)at(LAYOUT_ZERO_PAGE);
  cr_assert_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
  cr_assert_str_eq((const char *)at(LAYOUT_CMDLINE), "console=ttyS0");
  cr_assert_eq(bp->hdr.ramdisk_image, 0x3000000);
  cr_assert_eq(bp->hdr.ramdisk_size, 0x1234);
  cr_assert_eq(bp->acpi_rsdp_addr, 0xe0000);
  cr_assert_eq(bp->e820_entries, 4);
  cr_assert_eq(bp->hdr.type_of_loader, 0xff);
  err_t e = NULL;
  char longer[200];
  memset(longer, 'x', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = 0;
  cr_assert_eq(boot_write_cmdline(&gm, &ki, longer, &e), -1);
  cr_assert(strstr(err_msg(e), "--cmdline is 199 bytes; this ELF accepts at most 100"));
  err_free(&e);
}

Test(boot, pvh_start_info_has_memmap_and_initrd_module)
{
  struct boot_config bc = {.cmdline = "x", .initrd_addr = 0x3000000, .initrd_size = 99};
  cr_assert_eq(boot_write_pvh_info(&gm, &bc, 0xe0000, NULL), 0);
  const struct hvm_start_info *si = (const struct hvm_start_info *)at(LAYOUT_PVH_INFO);
  cr_assert_eq(si->magic, HVM_START_MAGIC);
  cr_assert_eq(si->version, 1);
  cr_assert_eq(si->memmap_entries, 4);
  cr_assert_eq(si->nr_modules, 1);
  const struct hvm_modlist_entry *m = (const struct hvm_modlist_entry *)at(si->modlist_paddr);
  cr_assert_eq(m->paddr, 0x3000000);
  cr_assert_eq(m->size, 99);
}

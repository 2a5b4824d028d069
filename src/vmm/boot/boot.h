/* What the VMM writes into guest memory before the first instruction: the
 * command line, the initrd, the e820 map, the zero page or PVH start info,
 * MP and ACPI tables, and the boot GDT and page tables. */
#ifndef ISOLA_VMM_BOOT_BOOT_H
#define ISOLA_VMM_BOOT_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/boot/bootparam.h"
#include "vmm/boot/kernel.h"
#include "vmm/memory.h"

struct boot_config {
  const char *cmdline; /* never NULL */
  uint64_t initrd_addr, initrd_size; /* size 0: none */
  int ncpus;
};

/* The map every guest sees; returns the number of entries (<= max). */
int e820_build(const struct guest_mem *gm, struct e820_entry *out, int max);

/* Copy the command line to LAYOUT_CMDLINE; too long for the kernel is an
 * error that says the limit. */
int boot_write_cmdline(const struct guest_mem *gm, const struct kernel_info *ki,
                       const char *cmdline, err_t *err);

/* Place the initrd at the top of low memory, page aligned, above the
 * kernel and below its initrd_addr_max. */
int boot_load_initrd(const struct guest_mem *gm, const struct kernel_info *ki, int fd,
                     const char *path, struct boot_config *bc, err_t *err);

int boot_write_zero_page(const struct guest_mem *gm, const struct kernel_info *ki,
                         const struct boot_config *bc, uint64_t rsdp, err_t *err);
int boot_write_pvh_info(const struct guest_mem *gm, const struct boot_config *bc, uint64_t rsdp,
                        err_t *err);

/* MP spec 1.4 tables in the BIOS area: CPUs 0..n-1 (APIC ID = index),
 * one ISA bus, the IOAPIC, ISA IRQs 0-15 identity-routed. */
int mptable_write(const struct guest_mem *gm, int ncpus, err_t *err);

/* A virtio-mmio device for the DSDT (a LNRO0005 device with its register
 * page and edge-triggered interrupt). */
struct acpi_mmio_dev {
  uint64_t base;
  uint32_t len;
  int irq;
};

/* RSDP, XSDT, FADT (hardware-reduced), MADT, DSDT; *rsdp gets the RSDP's
 * address. */
int acpi_write(const struct guest_mem *gm, int ncpus, const struct acpi_mmio_dev *devs, int ndevs,
               uint64_t *rsdp, err_t *err);

/* Write the tables reachable from the RSDP at `rsdp` as DIR/<sig>.dat. */
int acpi_dump(const struct guest_mem *gm, uint64_t rsdp, const char *dir, err_t *err);

/* The boot GDT (selectors 0x10 code, 64-bit or 32-bit; 0x18 data; 0x20
 * TSS) and identity page tables covering the first 4 GiB with 2 MiB pages. */
int boot_write_gdt_and_page_tables(const struct guest_mem *gm, bool code64, err_t *err);

/* GDT entries, shared with the vCPU set-up that loads the same segments. */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_CODE32 0x00cf9b000000ffffULL
#define GDT_DATA 0x00cf93000000ffffULL
#define GDT_TSS 0x00008b0000000fffULL
#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS 0x20

/* Sum of bytes, for the ACPI and MP checksums (they make it zero). */
uint8_t boot_checksum(const void *p, uint64_t len);

#endif

/* The guest-physical address map every isola microVM gets.  Low addresses
 * follow the places Linux and Firecracker expect (Linux boot protocol
 * §"64-bit boot protocol", MP spec 1.4 §4, ACPI 6.4 §5.2.5.1). */
#ifndef ISOLA_VMM_LAYOUT_H
#define ISOLA_VMM_LAYOUT_H

#define MiB (1024ULL * 1024)
#define GiB (1024 * MiB)

#define LAYOUT_GDT 0x500ULL          /* boot GDT: null, null, code 0x10, data 0x18 */
#define LAYOUT_IDT 0x520ULL          /* empty IDT, limit 0 */
#define LAYOUT_PVH_INFO 0x6000ULL    /* hvm_start_info, then its memmap/modules */
#define LAYOUT_ZERO_PAGE 0x7000ULL   /* struct boot_params */
#define LAYOUT_BOOT_STACK 0x8ff0ULL  /* rsp/rbp at the 64-bit entry */
#define LAYOUT_PML4 0x9000ULL        /* identity map of the first 4 GiB: */
#define LAYOUT_PDPT 0xa000ULL        /*   PML4 -> PDPT -> 4 PDs of 2 MiB pages */
#define LAYOUT_PD 0xb000ULL          /*   0xb000..0xefff */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL /* 64 KiB, never more than the kernel's cmdline_size */
#define LAYOUT_EBDA 0x9fc00ULL       /* extended BIOS data area: reserved, as on PCs */
#define LAYOUT_EBDA_END 0xa0000ULL
#define LAYOUT_ACPI 0xe0000ULL       /* RSDP (found by scanning 0xe0000..0xfffff), then tables */
#define LAYOUT_VMGENID 0xef000ULL    /* the VM generation ID: 16 bytes, reserved like the tables */
#define LAYOUT_MPTABLE 0xf0000ULL    /* MP floating pointer (BIOS ROM area), then the table */
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_HIMEM 0x100000ULL     /* kernels load here or above */

/* The 32-bit hole: RAM stops at 3.25 GiB and resumes at 4 GiB. */
#define LAYOUT_MMIO_START 0xd0000000ULL
#define LAYOUT_MMIO_END 0x100000000ULL
#define LAYOUT_BOOT_TIMER 0xd0000000ULL /* Firecracker's address: guests write 123 here */
#define LAYOUT_VIRTIO 0xd0001000ULL     /* virtio-mmio slots, one page each */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_IDENTITY_MAP 0xfffbc000ULL /* KVM_SET_IDENTITY_MAP_ADDR (one page) */
#define LAYOUT_TSS 0xfffbd000ULL          /* KVM_SET_TSS_ADDR (three pages) */

/* Legacy I/O ports. */
#define PORT_COM1 0x3f8
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_ACPI_SLEEP 0x600 /* FADT sleep control (+0) and status (+1) registers */
#define PORT_RESET 0xcf9      /* FADT reset register; also the classic PCI reset port */

#define IRQ_COM1 4
#define IRQ_KEYBOARD 1
#define IRQ_VMGENID 16 /* the GED's: first GSI past the ISA ones, edge-triggered, active high */

#define VMM_MAX_CPUS 254 /* xAPIC IDs 0..253; 254 is the IOAPIC's, 255 broadcast */
#define VMM_MIN_MEMORY (16 * MiB)
#define VMM_MAX_MEMORY (1024 * GiB)

#endif

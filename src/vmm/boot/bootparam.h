/* Linux x86 boot structures, laid out as Documentation/arch/x86/boot.rst
 * ("The real-mode kernel header") and zero-page.rst give them, and Xen's
 * hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) for PVH. */
#ifndef ISOLA_VMM_BOOT_BOOTPARAM_H
#define ISOLA_VMM_BOOT_BOOTPARAM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define SETUP_HEADER_OFFSET 0x1f1
#define SETUP_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xaa55
#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02

struct setup_header {
  uint8_t setup_sects;
  uint16_t root_flags;
  uint32_t syssize;
  uint16_t ram_size;
  uint16_t vid_mode;
  uint16_t root_dev;
  uint16_t boot_flag;
  uint16_t jump;
  uint32_t header;
  uint16_t version;
  uint32_t realmode_swtch;
  uint16_t start_sys_seg;
  uint16_t kernel_version;
  uint8_t type_of_loader;
  uint8_t loadflags;
  uint16_t setup_move_size;
  uint32_t code32_start;
  uint32_t ramdisk_image;
  uint32_t ramdisk_size;
  uint32_t bootsect_kludge;
  uint16_t heap_end_ptr;
  uint8_t ext_loader_ver;
  uint8_t ext_loader_type;
  uint32_t cmd_line_ptr;
  uint32_t initrd_addr_max;
  uint32_t kernel_alignment;
  uint8_t relocatable_kernel;
  uint8_t min_alignment;
  uint16_t xloadflags;
  uint32_t cmdline_size;
  uint32_t hardware_subarch;
  uint64_t hardware_subarch_data;
  uint32_t payload_offset;
  uint32_t payload_length;
  uint64_t setup_data;
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t handover_offset;
  uint32_t kernel_info_offset;
} __attribute__((packed));

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX_ENTRIES 128

struct e820_entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
} __attribute__((packed));

/* The zero page; only the fields isola fills are named. */
struct boot_params {
  uint8_t screen_info[0x40];
  uint8_t apm_bios_info[0x14];
  uint8_t pad1[4];
  uint64_t tboot_addr;
  uint8_t ist_info[0x10];
  uint64_t acpi_rsdp_addr;
  uint8_t pad2[8];
  uint8_t hd_info[0x20];
  uint8_t sys_desc_table[0x10];
  uint8_t olpc_ofw_header[0x10];
  uint32_t ext_ramdisk_image;
  uint32_t ext_ramdisk_size;
  uint32_t ext_cmd_line_ptr;
  uint8_t pad3[0x1e8 - 0xcc];
  uint8_t e820_entries;
  uint8_t pad4[SETUP_HEADER_OFFSET - 0x1e9];
  struct setup_header hdr;
  uint8_t pad5[0x2d0 - SETUP_HEADER_OFFSET - sizeof(struct setup_header)];
  struct e820_entry e820_table[E820_MAX_ENTRIES];
  uint8_t pad6[0x1000 - 0x2d0 - E820_MAX_ENTRIES * sizeof(struct e820_entry)];
} __attribute__((packed));

static_assert(offsetof(struct setup_header, jump) == 0x200 - SETUP_HEADER_OFFSET, "setup header");
static_assert(offsetof(struct setup_header, kernel_info_offset) == 0x268 - SETUP_HEADER_OFFSET,
              "setup header end");
static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x70, "acpi_rsdp_addr");
static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0xc8, "ext_cmd_line_ptr");
static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
static_assert(offsetof(struct boot_params, hdr) == SETUP_HEADER_OFFSET, "hdr");
static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
static_assert(sizeof(struct boot_params) == 0x1000, "zero page size");

/* PVH: the ELF note that names the 32-bit entry, and what the entry gets
 * in %ebx (start_info.h, version 1). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
} __attribute__((packed));

static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");

#endif

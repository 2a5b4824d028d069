/* Command line, initrd and the zero page for the 64-bit boot protocol
 * (boot.rst "Details of header fields", zero-page.rst). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

#define LOADER_UNDEFINED 0xff /* type_of_loader: "undefined", as Firecracker and kvmtool */

int boot_write_cmdline(const struct guest_mem *gm, const struct kernel_info *ki,
                       const char *cmdline, err_t *err)
{
  uint64_t len = strlen(cmdline);
  uint64_t max = ki->cmdline_max < LAYOUT_CMDLINE_MAX - 1 ? ki->cmdline_max : LAYOUT_CMDLINE_MAX - 1;
  if (len > max)
    return err_make(err, E2BIG, "--cmdline is %llu bytes; this %s accepts at most %llu",
                    (unsigned long long)len, ki->format, (unsigned long long)max);
  return guest_mem_write(gm, LAYOUT_CMDLINE, cmdline, len + 1, err);
}

int boot_load_initrd(const struct guest_mem *gm, const struct kernel_info *ki, int fd,
                     const char *path, struct boot_config *bc, err_t *err)
{
  struct stat st;
  if (fstat(fd, &st) < 0)
    return err_sys(err, "cannot stat initrd `%s`", path);
  if (!S_ISREG(st.st_mode))
    return err_make(err, EINVAL, "initrd `%s` is not a regular file", path);
  uint64_t size = (uint64_t)st.st_size;
  uint64_t top = guest_mem_low_end(gm);
  if (ki->initrd_limit && ki->initrd_limit < top)
    top = ki->initrd_limit;
  top &= ~0xfffULL;
  uint64_t floor = (ki->load_end + 0xfff) & ~0xfffULL;
  if (size == 0)
    return err_make(err, EINVAL, "initrd `%s` is empty", path);
  if (size > top || ((top - size) & ~0xfffULL) < floor)
    return err_make(err, ENOMEM,
                    "initrd `%s` (%llu MiB) is too large for the memory given: %llu MiB free "
                    "between the kernel and 0x%llx; raise --memory",
                    path, (unsigned long long)((size + MiB - 1) / MiB),
                    (unsigned long long)(top > floor ? (top - floor) / MiB : 0),
                    (unsigned long long)top);
  uint64_t addr = (top - size) & ~0xfffULL;
  if (kernel_copy_to_guest(gm, fd, 0, size, addr, path, err) < 0)
    return -1;
  bc->initrd_addr = addr;
  bc->initrd_size = size;
  return 0;
}

int boot_write_zero_page(const struct guest_mem *gm, const struct kernel_info *ki,
                         const struct boot_config *bc, uint64_t rsdp, err_t *err)
{
  struct boot_params bp;
  memset(&bp, 0, sizeof(bp));
  if (ki->has_setup) {
    bp.hdr = ki->hdr;
  } else {
    /* An ELF vmlinux has no header of its own: give it the fields the
     * kernel reads at the 64-bit entry. */
    bp.hdr.boot_flag = BOOT_FLAG_MAGIC;
    bp.hdr.header = SETUP_MAGIC;
    bp.hdr.version = 0x020f;
    bp.hdr.kernel_alignment = 0x1000000;
  }
  bp.hdr.type_of_loader = LOADER_UNDEFINED;
  bp.hdr.loadflags |= LOADED_HIGH;
  bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
  bp.ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE >> 32);
  bp.hdr.cmdline_size = (uint32_t)strlen(bc->cmdline);
  if (bc->initrd_size) {
    bp.hdr.ramdisk_image = (uint32_t)bc->initrd_addr;
    bp.hdr.ramdisk_size = (uint32_t)bc->initrd_size;
    bp.ext_ramdisk_image = (uint32_t)(bc->initrd_addr >> 32);
    bp.ext_ramdisk_size = (uint32_t)(bc->initrd_size >> 32);
  }
  bp.acpi_rsdp_addr = rsdp;
  bp.e820_entries = (uint8_t)e820_build(gm, bp.e820_table, E820_MAX_ENTRIES);
  return guest_mem_write(gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp), err);
}

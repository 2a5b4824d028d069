/* bzImage through the 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 * the protected-mode part goes to its preferred address (or 1 MiB), the
 * entry is 0x200 into it, and the setup header is kept for the zero page. */
#include <errno.h>
#include <string.h>

#include "vmm/boot/kernel.h"
#include "vmm/layout.h"

#define MIN_PROTOCOL 0x020c /* 2.12: xloadflags and the 64-bit entry */

int bzimage_load(const struct guest_mem *gm, int fd, uint64_t file_size, const char *path,
                 struct kernel_info *ki, err_t *err)
{
  struct setup_header h;
  if (file_size < 0x1000)
    return 0;
  if (kernel_pread(fd, &h, sizeof(h), SETUP_HEADER_OFFSET, path, err) < 0)
    return -1;
  if (h.header != SETUP_MAGIC)
    return 0;
  if (h.boot_flag != BOOT_FLAG_MAGIC)
    return err_make(err, EINVAL, "bzImage `%s` has a bad boot_flag 0x%04x (want 0xaa55)", path,
                    h.boot_flag);
  if (h.version < MIN_PROTOCOL)
    return err_make(err, EINVAL,
                    "bzImage `%s` uses boot protocol %u.%02u, too old: isola-vmm needs 2.12 or "
                    "later (Linux 3.8+) for the 64-bit entry",
                    path, h.version >> 8, h.version & 0xff);
  if (!(h.xloadflags & XLF_KERNEL_64))
    return err_make(err, EINVAL,
                    "bzImage `%s` has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64): "
                    "is it a 32-bit kernel?",
                    path);
  if (!(h.loadflags & LOADED_HIGH))
    return err_make(err, EINVAL, "bzImage `%s` is a zImage (not LOADED_HIGH)", path);
  uint64_t setup_sects = h.setup_sects ? h.setup_sects : 4;
  uint64_t setup_size = (setup_sects + 1) * 512;
  if (setup_size >= file_size)
    return err_make(err, EINVAL, "bzImage `%s` is truncated: its setup (%llu bytes) fills the file",
                    path, (unsigned long long)setup_size);
  uint64_t payload = file_size - setup_size;
  uint64_t span = h.init_size > payload ? h.init_size : payload;

  /* A relocatable kernel goes to its preferred address when it fits, like
   * the boot loaders do; a fixed one only where it was linked. */
  uint64_t load = h.pref_address ? h.pref_address : LAYOUT_HIMEM;
  if (h.relocatable_kernel && load + span > guest_mem_low_end(gm))
    load = LAYOUT_HIMEM;
  if (!h.relocatable_kernel && h.code32_start)
    load = h.code32_start;

  ki->format = "bzImage";
  ki->proto = BOOT_LINUX64;
  ki->load_start = load;
  ki->load_end = load + span;
  ki->entry = load + 0x200;
  ki->has_setup = true;
  ki->hdr = h;
  ki->cmdline_max = h.cmdline_size ? h.cmdline_size : 255;
  ki->initrd_limit = (uint64_t)h.initrd_addr_max + 1;
  if (ki->load_end > guest_mem_low_end(gm))
    return 1; /* kernel_load() reports the size */
  if (kernel_copy_to_guest(gm, fd, setup_size, payload, load, path, err) < 0)
    return -1;
  return 1;
}

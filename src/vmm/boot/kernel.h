/* Loading a guest kernel into guest memory: bzImage (64-bit boot protocol),
 * ELF vmlinux (64-bit entry) or an ELF with a PVH note (32-bit entry). */
#ifndef ISOLA_VMM_BOOT_KERNEL_H
#define ISOLA_VMM_BOOT_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/boot/bootparam.h"
#include "vmm/memory.h"

enum boot_protocol {
  BOOT_LINUX64, /* 64-bit entry, %rsi = zero page, paging on (boot.rst §64-bit) */
  BOOT_PVH,     /* 32-bit entry, %ebx = hvm_start_info, paging off */
};

struct kernel_info {
  const char *format; /* "bzImage", "ELF" or "PVH ELF", for messages */
  enum boot_protocol proto;
  uint64_t entry;
  uint64_t load_start, load_end; /* guest range the kernel claims, incl. bss/init_size */
  bool has_setup;                /* bzImage: hdr holds its setup header */
  struct setup_header hdr;
  uint64_t cmdline_max;  /* bytes of command line accepted, without the NUL */
  uint64_t initrd_limit; /* the initrd must end at or below this address */
};

/* Reads the image from `fd` (named `path` in messages) into guest memory. */
int kernel_load(const struct guest_mem *gm, int fd, const char *path, struct kernel_info *ki,
                err_t *err);

/* Format loaders, tried by kernel_load(); each returns 0 when the image is
 * not of its format and leaves ki->format NULL, 1 when loaded. */
int bzimage_load(const struct guest_mem *gm, int fd, uint64_t file_size, const char *path,
                 struct kernel_info *ki, err_t *err);
int elf_load(const struct guest_mem *gm, int fd, uint64_t file_size, const char *path,
             struct kernel_info *ki, err_t *err);

/* Read exactly `len` bytes at `off`; a short file is an error naming it. */
int kernel_pread(int fd, void *buf, uint64_t len, uint64_t off, const char *path, err_t *err);

/* Copy [off, off+len) of the file to guest address `gpa`. */
int kernel_copy_to_guest(const struct guest_mem *gm, int fd, uint64_t off, uint64_t len,
                         uint64_t gpa, const char *path, err_t *err);

#endif

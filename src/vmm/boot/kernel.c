#include "vmm/boot/kernel.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/layout.h"

int kernel_pread(int fd, void *buf, uint64_t len, uint64_t off, const char *path, err_t *err)
{
  uint8_t *p = buf;
  while (len) {
    ssize_t n = pread(fd, p, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return err_sys(err, "cannot read `%s`", path);
    if (n == 0)
      return err_make(err, EINVAL, "`%s` is truncated: it ends before offset 0x%llx", path,
                      (unsigned long long)(off + len));
    p += n;
    off += (uint64_t)n;
    len -= (uint64_t)n;
  }
  return 0;
}

int kernel_copy_to_guest(const struct guest_mem *gm, int fd, uint64_t off, uint64_t len,
                         uint64_t gpa, const char *path, err_t *err)
{
  void *dst = guest_mem_ptr(gm, gpa, len);
  if (!dst)
    return err_make(err, ENOMEM,
                    "`%s` needs guest memory up to 0x%llx, beyond the %llu MiB given; raise "
                    "--memory",
                    path, (unsigned long long)(gpa + len),
                    (unsigned long long)(gm->total / MiB));
  return kernel_pread(fd, dst, len, off, path, err);
}

int kernel_load(const struct guest_mem *gm, int fd, const char *path, struct kernel_info *ki,
                err_t *err)
{
  struct stat st;
  memset(ki, 0, sizeof(*ki));
  if (fstat(fd, &st) < 0)
    return err_sys(err, "cannot stat `%s`", path);
  if (!S_ISREG(st.st_mode))
    return err_make(err, EINVAL, "`%s` is not a regular file", path);
  int r = elf_load(gm, fd, (uint64_t)st.st_size, path, ki, err);
  if (r == 0)
    r = bzimage_load(gm, fd, (uint64_t)st.st_size, path, ki, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return err_make(err, EINVAL,
                    "`%s` is not a kernel: neither an ELF image nor a bzImage (no \"HdrS\" "
                    "setup header at 0x202)",
                    path);
  if (ki->load_start < LAYOUT_HIMEM)
    return err_make(err, EINVAL,
                    "%s `%s` loads at 0x%llx, below 1 MiB where the boot structures live", ki->format,
                    path, (unsigned long long)ki->load_start);
  if (ki->load_end > guest_mem_low_end(gm))
    return err_make(err, ENOMEM,
                    "%s `%s` needs guest memory up to %llu MiB, more than the %llu MiB below the "
                    "32-bit hole; raise --memory",
                    ki->format, path, (unsigned long long)((ki->load_end + MiB - 1) / MiB),
                    (unsigned long long)(guest_mem_low_end(gm) / MiB));
  return 0;
}

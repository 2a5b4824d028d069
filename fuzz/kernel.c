/* Fuzz the kernel loaders (ELF with and without a PVH note, bzImage): a
 * guest kernel is untrusted input to isola-vmm.  The loader must reject
 * or load any byte string without touching memory outside the guest's. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "vmm/boot/boot.h"
#include "vmm/layout.h"

static struct guest_mem gm;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (gm.nregions == 0 && guest_mem_create(&gm, 32 * MiB, false, NULL) < 0)
    abort();
  int fd = memfd_create("kernel", MFD_CLOEXEC);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size)
    abort();
  err_t e = NULL;
  struct kernel_info ki;
  int ret = kernel_load(&gm, fd, "fuzz", &ki, &e);
  fuzz_check_error(ret, &e);
  if (ret == 0) {
    /* What follows a successful load must cope with whatever it found. */
    struct boot_config bc = {.cmdline = "console=ttyS0", .ncpus = 1};
    ret = boot_write_cmdline(&gm, &ki, bc.cmdline, &e);
    fuzz_check_error(ret, &e);
    if (ki.proto == BOOT_LINUX64)
      ret = boot_write_zero_page(&gm, &ki, &bc, LAYOUT_ACPI, &e);
    fuzz_check_error(ret, &e);
  }
  close(fd);
  return 0;
}

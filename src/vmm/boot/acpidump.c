/* `isola-vmm --dump-acpi DIR`: write the ACPI tables a guest would get as
 * DIR/<signature>.dat, the names acpidump -b and `iasl -d` use, by walking
 * them from the RSDP in guest memory as a guest would. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/file.h"
#include "vmm/boot/boot.h"

static int dump_one(const struct guest_mem *gm, uint64_t addr, uint32_t len, const char *sig,
                    const char *dir, err_t *err)
{
  const void *p = guest_mem_ptr(gm, addr, len);
  if (!p)
    return err_make(err, EFAULT, "ACPI table %.4s at 0x%llx+%u is outside guest memory", sig,
                    (unsigned long long)addr, len);
  char name[5] = {0};
  for (int i = 0; i < 4; i++)
    name[i] = (char)tolower((unsigned char)sig[i]);
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
  if (file_write_atomic(path, p, len, 0644, false, err) < 0)
    return err_context(err, "cannot dump ACPI table %.4s", sig);
  return 0;
}

static int table_len(const struct guest_mem *gm, uint64_t addr, uint32_t *len, err_t *err)
{
  if (guest_mem_read(gm, addr + 4, len, 4, err) < 0)
    return -1;
  if (*len < 36)
    return err_make(err, EINVAL, "ACPI table at 0x%llx is too short", (unsigned long long)addr);
  return 0;
}

int acpi_dump(const struct guest_mem *gm, uint64_t rsdp, const char *dir, err_t *err)
{
  uint64_t xsdt;
  uint32_t len;
  if (dump_one(gm, rsdp, 36, "RSDP", dir, err) < 0 ||
      guest_mem_read(gm, rsdp + 24, &xsdt, 8, err) < 0 || table_len(gm, xsdt, &len, err) < 0 ||
      dump_one(gm, xsdt, len, "XSDT", dir, err) < 0)
    return -1;
  for (uint32_t off = 36; off + 8 <= len; off += 8) {
    uint64_t t;
    uint32_t tlen;
    char sig[4];
    if (guest_mem_read(gm, xsdt + off, &t, 8, err) < 0 || table_len(gm, t, &tlen, err) < 0 ||
        guest_mem_read(gm, t, sig, 4, err) < 0 || dump_one(gm, t, tlen, sig, dir, err) < 0)
      return -1;
    if (memcmp(sig, "FACP", 4) == 0) {
      uint64_t dsdt;
      uint32_t dlen;
      if (guest_mem_read(gm, t + 140, &dsdt, 8, err) < 0 || table_len(gm, dsdt, &dlen, err) < 0 ||
          dump_one(gm, dsdt, dlen, "DSDT", dir, err) < 0)
        return -1;
    }
  }
  return 0;
}

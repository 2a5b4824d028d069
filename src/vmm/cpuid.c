#include "vmm/cpuid.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MAX_ENTRIES 1024
#define HYPERVISOR_BIT (1u << 31) /* leaf 1 ECX */
#define HTT_BIT (1u << 28)        /* leaf 1 EDX */
#define LEVEL_SMT 1
#define LEVEL_CORE 2

static size_t table_size(uint32_t n)
{
  return sizeof(struct kvm_cpuid2) + n * sizeof(struct kvm_cpuid_entry2);
}

struct kvm_cpuid2 *cpuid_supported(int kvm_fd, err_t *err)
{
  for (uint32_t n = 64; n <= MAX_ENTRIES; n *= 2) {
    struct kvm_cpuid2 *c = calloc(1, table_size(n));
    if (!c) {
      err_sys(err, "cannot allocate the CPUID table");
      return NULL;
    }
    c->nent = n;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
      return c;
    free(c);
    if (errno != E2BIG) {
      err_sys(err, "KVM_GET_SUPPORTED_CPUID failed");
      return NULL;
    }
  }
  err_make(err, E2BIG, "KVM_GET_SUPPORTED_CPUID returns more than %d entries", MAX_ENTRIES);
  return NULL;
}

static uint32_t bits_for(int n)
{
  uint32_t b = 0;
  while ((1 << b) < n)
    b++;
  return b;
}

/* Extended topology (Intel SDM vol. 2A, CPUID leaf 0BH / 1FH): level 0 is
 * SMT (one thread per core), level 1 the cores of the one package. */
static void topology(struct kvm_cpuid_entry2 *e, uint32_t apic_id, int ncpus)
{
  e->edx = apic_id;
  switch (e->index) {
  case 0:
    e->eax = 0;
    e->ebx = 1;
    e->ecx = (LEVEL_SMT << 8) | e->index;
    break;
  case 1:
    e->eax = bits_for(ncpus);
    e->ebx = (uint32_t)ncpus;
    e->ecx = (LEVEL_CORE << 8) | e->index;
    break;
  default:
    e->eax = 0;
    e->ebx = 0;
    e->ecx = e->index;
    break;
  }
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, int id, int ncpus,
                                  err_t *err)
{
  size_t size = table_size(supported->nent);
  struct kvm_cpuid2 *c = malloc(size);
  if (!c) {
    err_sys(err, "cannot allocate the CPUID table of vCPU %d", id);
    return NULL;
  }
  memcpy(c, supported, size);
  uint32_t apic_id = (uint32_t)id;
  for (uint32_t i = 0; i < c->nent; i++) {
    struct kvm_cpuid_entry2 *e = &c->entries[i];
    if (e->function >= 0x40000000 && e->function <= 0x4fffffff)
      continue;
    switch (e->function) {
    case 1:
      /* EBX: APIC ID [31:24], logical processors [23:16], CLFLUSH 8 x 8 bytes. */
      e->ebx = (apic_id << 24) | ((uint32_t)ncpus << 16) | (8 << 8);
      e->ecx |= HYPERVISOR_BIT;
      if (ncpus > 1)
        e->edx |= HTT_BIT;
      else
        e->edx &= ~HTT_BIT;
      break;
    case 4:
      /* Cores per package - 1 in EAX[31:26]; each cache serves one core. */
      if (e->eax & 0x1f) {
        e->eax &= 0x3fff;
        e->eax |= (uint32_t)(ncpus - 1) << 26;
      }
      break;
    case 0xb:
    case 0x1f:
      topology(e, apic_id, ncpus);
      break;
    case 0x80000008:
      /* AMD: cores per package - 1 in ECX[7:0], APIC ID size in [15:12]. */
      e->ecx = (bits_for(ncpus) << 12) | (uint32_t)(ncpus - 1);
      break;
    default:
      break;
    }
  }
  return c;
}

/* The per-vCPU CPUID table. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpuid.h"

static struct kvm_cpuid2 *fake(void)
{
  struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(struct kvm_cpuid_entry2));
  struct kvm_cpuid_entry2 e[] = {
      {.function = 0, .eax = 0xd},
      {.function = 1, .eax = 0x806f8, .ebx = 0xff0800, .ecx = 0x1, .edx = 0x10000000},
      {.function = 4, .index = 0, .eax = 0x121},
      {.function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
      {.function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
      {.function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d},
      {.function = 0x40000001, .eax = 0x1007efb, .ebx = 7},
      {.function = 0x80000008, .eax = 0x3030},
  };
  c->nent = 8;
  memcpy(c->entries, e, sizeof(e));
  return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t f, uint32_t i)
{
  for (uint32_t n = 0; n < c->nent; n++)
    if (c->entries[n].function == f && c->entries[n].index == i)
      return &c->entries[n];
  return NULL;
}

Test(cpuid, each_vcpu_gets_its_apic_id_and_the_topology)
{
  struct kvm_cpuid2 *sup = fake();
  struct kvm_cpuid2 *c = cpuid_for_vcpu(sup, 5, 8, NULL);
  cr_assert_eq(find(c, 1, 0)->ebx >> 24, 5u);
  cr_assert_eq((find(c, 1, 0)->ebx >> 16) & 0xff, 8u);
  cr_assert(find(c, 1, 0)->ecx & (1u << 31), "hypervisor bit");
  cr_assert(find(c, 1, 0)->edx & (1u << 28), "HTT with several CPUs");
  cr_assert_eq(find(c, 0xb, 0)->edx, 5u);
  cr_assert_eq(find(c, 0xb, 1)->edx, 5u);
  cr_assert_eq(find(c, 0xb, 1)->ebx, 8u);
  cr_assert_eq(find(c, 0xb, 1)->eax, 3u, "3 bits of APIC ID for 8 cores");
  cr_assert_eq((find(c, 0xb, 1)->ecx >> 8) & 0xff, 2u, "core level");
  cr_assert_eq(find(c, 4, 0)->eax >> 26, 7u);
  cr_assert_eq(find(c, 0x80000008, 0)->ecx & 0xff, 7u);
  free(c);
  c = cpuid_for_vcpu(sup, 0, 1, NULL);
  cr_assert_not(find(c, 1, 0)->edx & (1u << 28), "no HTT alone");
  free(c);
  free(sup);
}

Test(cpuid, hypervisor_leaves_pass_through_unchanged)
{
  /* PVM guests find PVM in 0x40000000+ (PLATFORM.md): untouched. */
  struct kvm_cpuid2 *sup = fake();
  struct kvm_cpuid2 *c = cpuid_for_vcpu(sup, 3, 4, NULL);
  cr_assert_eq(memcmp(find(c, 0x40000000, 0), find(sup, 0x40000000, 0), sizeof(struct kvm_cpuid_entry2)), 0);
  cr_assert_eq(memcmp(find(c, 0x40000001, 0), find(sup, 0x40000001, 0), sizeof(struct kvm_cpuid_entry2)), 0);
  free(c);
  free(sup);
}

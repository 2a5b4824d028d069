/* Starts every CPU the MADT lists the way Linux does (INIT, then two
 * start-up IPIs pointing at a real-mode trampoline), and has each print
 * from its own APIC.  "isola-test: PASS" when all came online. */
#include "lib.h"

#define TRAMP_BASE 0x10000
#define SIPI_VECTOR (TRAMP_BASE >> 12)

extern const uint8_t trampoline_start[], trampoline_end[], trampoline_cr3[];
static volatile uint32_t online_apic[MAX_CPUS];
static volatile int online;

static uint32_t cpuid_apic_id(void)
{
  uint32_t a = 1, b, c = 0, d;
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  return b >> 24;
}

void ap_main(int index)
{
  uint32_t id = lapic_id();
  online_apic[index] = id;
  /* On hardware KVM cpuid traps and shows what the VMM set for this vCPU;
   * on PVM it runs natively and shows the host's. */
  printf("cpu %d online, apic id %u, cpuid apic id %u\n", index, id, cpuid_apic_id());
  __atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
}

static void ipi(uint32_t apic, uint32_t icr)
{
  lapic_write(0x310, apic << 24);
  lapic_write(0x300, icr);
  while (lapic_read(0x300) & (1u << 12))
    cpu_relax();
}

static void delay(uint64_t cycles)
{
  uint64_t t = rdtsc();
  while (rdtsc() - t < cycles)
    cpu_relax();
}

void guest_main(void)
{
  struct bootinfo b;
  uint8_t ids[MAX_CPUS];
  bootinfo_read(&b);
  int n = madt_cpus(b.rsdp, ids, MAX_CPUS);
  uint32_t self = (lapic_enable(), lapic_id());
  printf("isola-test: smp, %d cpus in the MADT, bsp apic id %u\n", n, self);
  if (n < 1) {
    printf("isola-test: FAIL (no MADT)\n");
    return;
  }
  uint64_t cr3;
  __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
  memcpy((void *)TRAMP_BASE, trampoline_start, (size_t)(trampoline_end - trampoline_start));
  *(volatile uint32_t *)(TRAMP_BASE + (trampoline_cr3 - trampoline_start)) = (uint32_t)cr3;
  int want = 0;
  for (int i = 0; i < n; i++) {
    if (ids[i] == self)
      continue;
    want++;
    ipi(ids[i], 0x4500); /* INIT, level assert */
    delay(1000000);
    for (int s = 0; s < 2; s++) {
      ipi(ids[i], 0x4600 | SIPI_VECTOR); /* start-up */
      delay(200000);
    }
    uint64_t t = rdtsc();
    while (online < want && rdtsc() - t < 20000000000ULL)
      cpu_relax();
    if (online < want) {
      printf("cpu with apic id %u did not come online\n", ids[i]);
      break;
    }
  }
  bool distinct = true;
  for (int i = 1; i <= online; i++)
    for (int j = i + 1; j <= online; j++)
      distinct &= online_apic[i] != online_apic[j];
  printf("smp: %d of %d cpus online\n", online + 1, n);
  boot_done();
  printf("isola-test: %s\n", online == n - 1 && distinct ? "PASS" : "FAIL");
}

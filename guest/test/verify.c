/* Checks the boot state the VMM promised and prints what it found: entry
 * registers (64-bit boot protocol), the zero page or PVH start info, the
 * command line, the e820 map against isola.mem=MiB, the initrd, the ACPI
 * and MP tables against isola.cpus=N.  Ends with "isola-test: PASS" or
 * "isola-test: FAIL" and powers off. */
#include "lib.h"

extern uint64_t entry_rsp, entry_rflags, entry_cr0, entry_cr3, entry_cr4;
extern uint32_t entry_efer;
extern uint16_t entry_cs, entry_ds, entry_es, entry_ss;
extern uint8_t __image_start[], __image_end[];

static int failures;

static void check(bool ok, const char *what)
{
  printf("check %s: %s\n", what, ok ? "ok" : "FAIL");
  if (!ok)
    failures++;
}

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
  uint32_t h = 2166136261u;
  for (uint64_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static void check_entry_state(void)
{
  const uint8_t *bp = (const uint8_t *)boot_params;
  printf("entry: cs=0x%x ds=0x%x es=0x%x ss=0x%x cr0=0x%lx cr3=0x%lx cr4=0x%lx efer=0x%x "
         "rflags=0x%lx rsi=0x%lx\n",
         entry_cs, entry_ds, entry_es, entry_ss, entry_cr0, entry_cr3, entry_cr4, entry_efer,
         entry_rflags, boot_params);
  check((entry_cr0 & 0x80000001) == 0x80000001, "protected-mode-and-paging");
  check(entry_cr4 & 0x20, "pae");
  check((entry_efer & 0x500) == 0x500, "long-mode-active");
  check(!(entry_rflags & 0x200), "interrupts-disabled");
  /* PVM runs the guest in hardware ring 3 and does not virtualise reads
   * of segment selectors: there the RPL bits show 3, so compare without. */
  check((entry_cs & ~3) == 0x10 && (entry_ds & ~3) == 0x18 && (entry_ss & ~3) == 0x18 &&
            (entry_es & ~3) == 0x18,
        "boot-segments");
  check(*(const uint32_t *)(bp + 0x202) == 0x53726448 && *(const uint16_t *)(bp + 0x1fe) == 0xaa55,
        "zero-page-header");
  check(bp[0x210] != 0, "type-of-loader");
}

static void check_memory(const struct bootinfo *b)
{
  uint64_t ram = 0, low_end = 0, prev_end = 0;
  bool ordered = true, image_in_ram = false;
  for (int i = 0; i < b->nmap; i++) {
    const struct e820 *e = &b->map[i];
    printf("e820: 0x%lx-0x%lx type %u\n", e->addr, e->addr + e->size - 1, e->type);
    if (e->addr < prev_end)
      ordered = false;
    prev_end = e->addr + e->size;
    if (e->type != 1)
      continue;
    ram += e->size;
    if (e->addr + e->size <= 0x100000000ULL && e->addr + e->size > low_end)
      low_end = e->addr + e->size;
    if (e->addr <= (uint64_t)__image_start && (uint64_t)__image_end <= e->addr + e->size)
      image_in_ram = true;
  }
  printf("memory: %lu KiB\n", ram / 1024);
  check(ordered, "e820-sorted");
  check(image_in_ram, "e820-covers-kernel");
  uint64_t want = cmdline_number(b->cmdline, "isola.mem", 0) << 20;
  if (want)
    check(ram <= want && ram + 0x61000 >= want, "e820-matches-memory");
  /* The last word of low RAM is really there. */
  volatile uint64_t *top = (volatile uint64_t *)(low_end - 8);
  *top = 0x15014a15014aULL;
  check(*top == 0x15014a15014aULL, "top-of-low-memory-writable");
  if (b->initrd_size) {
    const uint8_t *p = (const uint8_t *)b->initrd_addr;
    printf("initrd: addr=0x%lx size=%lu fnv1a=0x%08x\n", b->initrd_addr, b->initrd_size,
           fnv1a(p, b->initrd_size));
    check(!(b->initrd_addr & 0xfff) && b->initrd_addr >= (uint64_t)__image_end &&
              b->initrd_addr + b->initrd_size <= low_end,
          "initrd-placement");
  }
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
  r[0] = leaf;
  r[2] = 0;
  __asm__ volatile("cpuid" : "+a"(r[0]), "=b"(r[1]), "+c"(r[2]), "=d"(r[3]));
}

/* The hypervisor bit, and KVM's leaves 0x40000000+ as KVM made them (a VMM
 * must pass them through: PVM guests detect PVM there). */
static void check_cpuid(void)
{
  uint32_t r[4];
  char sig[13] = {0};
  cpuid(1, r);
  check(r[2] & (1u << 31), "cpuid-hypervisor-bit");
  cpuid(0x40000000, r);
  memcpy(sig, &r[1], 4);
  memcpy(sig + 4, &r[2], 4);
  memcpy(sig + 8, &r[3], 4);
  uint32_t max = r[0];
  cpuid(0x40000001, r);
  printf("cpuid: hypervisor '%s', max leaf 0x%x, features 0x%x\n", sig, max, r[0]);
  check(!memcmp(sig, "KVMKVMKVM", 9), "cpuid-kvm-leaves");
}

static void check_tables(const struct bootinfo *b)
{
  uint64_t cpus = cmdline_number(b->cmdline, "isola.cpus", 1);
  uint8_t ids[MAX_CPUS];
  const uint8_t *fadt = acpi_table(b->rsdp, "FACP");
  printf("acpi: rsdp=0x%lx\n", b->rsdp);
  check(fadt != 0, "acpi-fadt");
  check(fadt && (*(const uint32_t *)(fadt + 112) & (1u << 20)), "acpi-hardware-reduced");
  check(acpi_table(b->rsdp, "DSDT") != 0, "acpi-dsdt");
  int n = madt_cpus(b->rsdp, ids, MAX_CPUS);
  printf("acpi: madt cpus=%d\n", n);
  check(n == (int)cpus, "acpi-madt-cpus");
  bool ids_ok = true;
  for (int i = 0; i < n; i++)
    ids_ok &= ids[i] == i;
  check(ids_ok, "acpi-apic-ids");
  int mp = mptable_cpus();
  printf("mptable: cpus=%d\n", mp);
  check(mp == (int)cpus, "mptable-cpus");
}

void guest_main(void)
{
  struct bootinfo b;
  bootinfo_read(&b);
  printf("isola-test: verify, entry %s\n", b.pvh ? "pvh" : "linux64");
  printf("cmdline: %s\n", b.cmdline ? b.cmdline : "(none)");
  check(b.cmdline != 0, "cmdline");
  if (!b.pvh)
    check_entry_state();
  check_memory(&b);
  check_cpuid();
  check_tables(&b);
  boot_done();
  printf("isola-test: %s\n", failures ? "FAIL" : "PASS");
}

void ap_main(int index)
{
  (void)index;
}

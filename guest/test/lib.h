/* The test guests' small runtime: port I/O, the COM1 console, printf,
 * boot information from either entry, ACPI and MP table walks, the local
 * APIC and IOAPIC, interrupts, power off.  Freestanding: no libc. */
#ifndef ISOLA_GUEST_LIB_H
#define ISOLA_GUEST_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 32

static inline void outb(uint16_t port, uint8_t v)
{
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
  *(volatile uint32_t *)addr = v;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
  return *(volatile uint32_t *)addr;
}
static inline uint64_t rdtsc(void)
{
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void)
{
  __asm__ volatile("pause");
}

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

void putc_serial(char c);
void puts_serial(const char *s);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Boot information, whichever entry the VMM used. */
struct e820 {
  uint64_t addr, size;
  uint32_t type;
};
struct bootinfo {
  bool pvh;
  const char *cmdline;
  struct e820 map[32];
  int nmap;
  uint64_t initrd_addr, initrd_size;
  uint64_t rsdp;
};
void bootinfo_read(struct bootinfo *b);
/* Value of "key=" on the command line as a number, or `def`. */
uint64_t cmdline_number(const char *cmdline, const char *key, uint64_t def);

/* ACPI: checksums verified; NULL when a table is missing or bad. */
const void *acpi_table(uint64_t rsdp, const char *sig);
bool acpi_checksum_ok(const void *p, uint32_t len);
/* APIC IDs of the enabled CPUs in the MADT; returns the count. */
int madt_cpus(uint64_t rsdp, uint8_t *ids, int max);
/* CPUs listed in the MP table, or -1 when it is missing or bad. */
int mptable_cpus(void);

/* Local APIC (xAPIC, MMIO) and IOAPIC. */
#define LAPIC_BASE 0xfee00000ULL
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_id(void);
void lapic_enable(void);
void lapic_eoi(void);
void ioapic_route(int pin, uint8_t vector, uint8_t dest);

/* Interrupts: vectors 32-63 call the handler set for them. */
typedef void (*irq_handler)(int vector);
void idt_init(void);
void irq_set_handler(int vector, irq_handler h);

void spin_lock(volatile int *l);
void spin_unlock(volatile int *l);

/* Tell the VMM the guest booted (Firecracker boot timer), then power off. */
void boot_done(void);
void guest_poweroff(void) __attribute__((noreturn));

/* Each guest's own code. */
void guest_main(void);
void ap_main(int index);

/* Set by head.S. */
extern uint32_t boot_mode;
extern uint64_t boot_params, pvh_info;

#endif

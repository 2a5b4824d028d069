#include "lib.h"

#include <stdarg.h>

void *memcpy(void *d, const void *s, size_t n)
{
  uint8_t *dp = d;
  const uint8_t *sp = s;
  while (n--)
    *dp++ = *sp++;
  return d;
}

void *memset(void *d, int c, size_t n)
{
  uint8_t *dp = d;
  while (n--)
    *dp++ = (uint8_t)c;
  return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
  const uint8_t *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i])
      return x[i] - y[i];
  return 0;
}

size_t strlen(const char *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

void spin_lock(volatile int *l)
{
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
    cpu_relax();
}

void spin_unlock(volatile int *l)
{
  __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* ---- console ---- */
#define COM1 0x3f8

void putc_serial(char c)
{
  while (!(inb(COM1 + 5) & 0x20))
    cpu_relax();
  outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
  for (; *s; s++) {
    if (*s == '\n')
      putc_serial('\r');
    putc_serial(*s);
  }
}

static volatile int print_lock;

static void put_num(char *buf, int *at, uint64_t v, int base, int width, char pad)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % (uint64_t)base];
    v /= (uint64_t)base;
  } while (v);
  while (n < width)
    tmp[n++] = pad;
  while (n)
    buf[(*at)++] = tmp[--n];
}

void printf(const char *fmt, ...)
{
  char buf[512];
  int at = 0;
  va_list ap;
  va_start(ap, fmt);
  for (const char *p = fmt; *p && at < (int)sizeof(buf) - 40; p++) {
    if (*p != '%') {
      buf[at++] = *p;
      continue;
    }
    p++;
    char pad = ' ';
    int width = 0, longs = 0;
    if (*p == '0')
      pad = '0';
    while (*p >= '0' && *p <= '9')
      width = width * 10 + (*p++ - '0');
    while (*p == 'l') {
      longs++;
      p++;
    }
    switch (*p) {
    case 'd': {
      int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
      if (v < 0) {
        buf[at++] = '-';
        v = -v;
      }
      put_num(buf, &at, (uint64_t)v, 10, width, pad);
      break;
    }
    case 'u': put_num(buf, &at, longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad); break;
    case 'x': put_num(buf, &at, longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad); break;
    case 'c': buf[at++] = (char)va_arg(ap, int); break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s)
        s = "(null)";
      while (*s && at < (int)sizeof(buf) - 2)
        buf[at++] = *s++;
      break;
    }
    default: buf[at++] = *p; break;
    }
  }
  va_end(ap);
  buf[at] = 0;
  spin_lock(&print_lock);
  puts_serial(buf);
  spin_unlock(&print_lock);
}

/* ---- boot information ---- */
void bootinfo_read(struct bootinfo *b)
{
  memset(b, 0, sizeof(*b));
  if (boot_mode == 1) {
    /* hvm_start_info: nr_modules @12, modlist @16, cmdline @24, rsdp @32,
     * memmap @40, memmap_entries @48; memmap entries are 24 bytes. */
    const uint8_t *si = (const uint8_t *)pvh_info;
    b->pvh = true;
    b->cmdline = (const char *)*(const uint64_t *)(si + 24);
    b->rsdp = *(const uint64_t *)(si + 32);
    uint64_t memmap = *(const uint64_t *)(si + 40);
    uint32_t entries = *(const uint32_t *)(si + 48);
    for (uint32_t i = 0; i < entries && b->nmap < 32; i++, b->nmap++) {
      const uint8_t *e = (const uint8_t *)(memmap + i * 24);
      b->map[b->nmap].addr = *(const uint64_t *)e;
      b->map[b->nmap].size = *(const uint64_t *)(e + 8);
      b->map[b->nmap].type = *(const uint32_t *)(e + 16);
    }
    if (*(const uint32_t *)(si + 12)) {
      const uint64_t *mod = (const uint64_t *)*(const uint64_t *)(si + 16);
      b->initrd_addr = mod[0];
      b->initrd_size = mod[1];
    }
    return;
  }
  const uint8_t *bp = (const uint8_t *)boot_params;
  uint64_t cmd = *(const uint32_t *)(bp + 0x228) | ((uint64_t)*(const uint32_t *)(bp + 0xc8) << 32);
  b->cmdline = (const char *)cmd;
  b->rsdp = *(const uint64_t *)(bp + 0x70);
  b->initrd_addr = *(const uint32_t *)(bp + 0x218) | ((uint64_t)*(const uint32_t *)(bp + 0xc0) << 32);
  b->initrd_size = *(const uint32_t *)(bp + 0x21c) | ((uint64_t)*(const uint32_t *)(bp + 0xc4) << 32);
  int n = bp[0x1e8];
  for (int i = 0; i < n && i < 32; i++, b->nmap++) {
    const uint8_t *e = bp + 0x2d0 + i * 20;
    b->map[i].addr = *(const uint64_t *)e;
    b->map[i].size = *(const uint64_t *)(e + 8);
    b->map[i].type = *(const uint32_t *)(e + 16);
  }
}

uint64_t cmdline_number(const char *cmdline, const char *key, uint64_t def)
{
  size_t klen = strlen(key);
  for (const char *p = cmdline; p && *p; p++) {
    if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) && p[klen] == '=') {
      uint64_t v = 0;
      for (p += klen + 1; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint64_t)(*p - '0');
      return v;
    }
  }
  return def;
}

/* ---- ACPI and MP tables ---- */
bool acpi_checksum_ok(const void *p, uint32_t len)
{
  const uint8_t *b = p;
  uint8_t sum = 0;
  for (uint32_t i = 0; i < len; i++)
    sum = (uint8_t)(sum + b[i]);
  return sum == 0;
}

const void *acpi_table(uint64_t rsdp, const char *sig)
{
  const uint8_t *r = (const uint8_t *)rsdp;
  if (!r || memcmp(r, "RSD PTR ", 8) || !acpi_checksum_ok(r, 20) || r[15] < 2 ||
      !acpi_checksum_ok(r, 36))
    return 0;
  const uint8_t *x = (const uint8_t *)*(const uint64_t *)(r + 24);
  if (memcmp(x, "XSDT", 4) || !acpi_checksum_ok(x, *(const uint32_t *)(x + 4)))
    return 0;
  uint32_t n = (*(const uint32_t *)(x + 4) - 36) / 8;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *t = (const uint8_t *)*(const uint64_t *)(x + 36 + i * 8);
    if (!memcmp(t, sig, 4))
      return acpi_checksum_ok(t, *(const uint32_t *)(t + 4)) ? t : 0;
    if (!memcmp(sig, "DSDT", 4) && !memcmp(t, "FACP", 4)) {
      const uint8_t *d = (const uint8_t *)*(const uint64_t *)(t + 140);
      if (d && !memcmp(d, "DSDT", 4))
        return acpi_checksum_ok(d, *(const uint32_t *)(d + 4)) ? d : 0;
    }
  }
  return 0;
}

int madt_cpus(uint64_t rsdp, uint8_t *ids, int max)
{
  const uint8_t *m = acpi_table(rsdp, "APIC");
  if (!m)
    return -1;
  uint32_t len = *(const uint32_t *)(m + 4);
  int n = 0;
  for (uint32_t off = 44; off + 2 <= len && m[off + 1]; off += m[off + 1]) {
    if (m[off] == 0 && (*(const uint32_t *)(m + off + 4) & 1) && n < max)
      ids[n++] = m[off + 3];
  }
  return n;
}

int mptable_cpus(void)
{
  for (uint64_t a = 0xf0000; a < 0x100000; a += 16) {
    const uint8_t *f = (const uint8_t *)a;
    if (memcmp(f, "_MP_", 4) || !acpi_checksum_ok(f, 16))
      continue;
    const uint8_t *t = (const uint8_t *)(uint64_t)*(const uint32_t *)(f + 4);
    uint16_t len = *(const uint16_t *)(t + 4), count = *(const uint16_t *)(t + 34);
    if (memcmp(t, "PCMP", 4) || !acpi_checksum_ok(t, len))
      return -1;
    int cpus = 0;
    const uint8_t *e = t + 44;
    for (uint16_t i = 0; i < count && e < t + len; i++) {
      if (e[0] == 0) {
        if (e[3] & 1)
          cpus++;
        e += 20;
      } else {
        e += 8;
      }
    }
    return cpus;
  }
  return -1;
}

/* ---- APICs ---- */
uint32_t lapic_read(uint32_t reg)
{
  return mmio_read32(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
  mmio_write32(LAPIC_BASE + reg, v);
}

uint32_t lapic_id(void)
{
  return lapic_read(0x20) >> 24;
}

void lapic_enable(void)
{
  lapic_write(0xf0, 0x1ff); /* spurious vector 0xff, APIC software-enabled */
}

void lapic_eoi(void)
{
  lapic_write(0xb0, 0);
}

#define IOAPIC_BASE 0xfec00000ULL
void ioapic_route(int pin, uint8_t vector, uint8_t dest)
{
  mmio_write32(IOAPIC_BASE, (uint32_t)(0x10 + 2 * pin + 1));
  mmio_write32(IOAPIC_BASE + 0x10, (uint32_t)dest << 24);
  mmio_write32(IOAPIC_BASE, (uint32_t)(0x10 + 2 * pin));
  mmio_write32(IOAPIC_BASE + 0x10, vector); /* fixed, physical, edge, active high, unmasked */
}

/* ---- interrupts ---- */
extern const uint64_t isr_table[64];
/* Vectors 0-63 only (the limit stops the CPU there); in .noinit because
 * clearing it at boot would cost PVM's emulator 4096 iterations. */
static uint64_t idt[64 * 2] __attribute__((aligned(16), section(".noinit")));
static irq_handler handlers[64];

void idt_init(void)
{
  for (int v = 0; v < 64; v++) {
    uint64_t a = isr_table[v];
    idt[2 * v] = (a & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) | ((a >> 16) & 0xffff) << 48;
    idt[2 * v + 1] = a >> 32;
  }
  struct {
    uint16_t limit;
    uint64_t base;
  } __attribute__((packed)) ptr = {sizeof(idt) - 1, (uint64_t)idt};
  __asm__ volatile("lidt %0" : : "m"(ptr));
}

void irq_set_handler(int vector, irq_handler h)
{
  handlers[vector] = h;
}

void isr_dispatch(uint64_t vector, const uint64_t *frame);
void isr_dispatch(uint64_t vector, const uint64_t *frame)
{
  if (vector < 32) {
    printf("isola-test: exception %u, error 0x%lx, rip 0x%lx\nisola-test: FAIL\n",
           (unsigned)vector, frame[0], frame[1]);
    guest_poweroff();
  }
  if (handlers[vector])
    handlers[vector]((int)vector);
  lapic_eoi();
}

/* ---- the end ---- */
void boot_done(void)
{
  *(volatile uint8_t *)0xd0000000ULL = 123;
}

void guest_poweroff(void)
{
  outb(0x600, (5 << 2) | 0x20); /* ACPI S5 through the FADT sleep control register */
  outb(0xf4, 0);                /* QEMU's isa-debug-exit, for the benchmark */
  outb(0x64, 0xfe);             /* i8042 reset */
  for (;;)
    __asm__ volatile("cli; hlt");
}

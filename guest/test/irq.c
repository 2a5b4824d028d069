/* Takes interrupts: the LAPIC timer, the PIT through the IOAPIC, the UART's
 * transmit-empty and receive interrupts (it echoes a line typed on the
 * host), and the keyboard controller's IRQ 1 (Ctrl-Alt-Del from the host).
 * "isola-test: PASS" when every source delivered. */
#include "lib.h"

#define V_PIT 0x30
#define V_KBD 0x31
#define V_COM1 0x34
#define V_LAPIC 0x38
#define COM1 0x3f8

static volatile uint64_t pit_ticks, lapic_ticks, thre_irqs, rx_irqs, kbd_irqs;
static volatile char line[64];
static volatile int line_len, line_done;
static volatile uint8_t scancodes[8];
static volatile int nscancodes;

static void on_pit(int v)
{
  (void)v;
  pit_ticks++;
}

static void on_lapic(int v)
{
  (void)v;
  lapic_ticks++;
}

static void on_com1(int v)
{
  (void)v;
  uint8_t iir = inb(COM1 + 2) & 0x0f;
  if (iir == 0x02)
    thre_irqs++;
  if (iir == 0x04) {
    rx_irqs++;
    while (inb(COM1 + 5) & 1) {
      char c = (char)inb(COM1);
      if (c == '\n' || c == '\r')
        line_done = 1;
      else if (line_len < 63)
        line[line_len++] = c;
    }
  }
}

static void on_kbd(int v)
{
  (void)v;
  kbd_irqs++;
  while (inb(0x64) & 1) {
    uint8_t c = inb(0x60);
    if (nscancodes < 8)
      scancodes[nscancodes++] = c;
  }
}

/* Wait with interrupts on until cond() holds or `ms` PIT ticks pass. */
static bool wait_for(bool (*cond)(void), uint64_t ms)
{
  uint64_t until = pit_ticks + ms;
  while (!cond()) {
    if (pit_ticks >= until)
      return false;
    __asm__ volatile("sti; hlt; cli");
  }
  return true;
}

static bool timers_ran(void) { return pit_ticks >= 50 && lapic_ticks >= 20; }
static bool thre_seen(void) { return thre_irqs > 0; }
static bool line_seen(void) { return line_done; }
static bool keys_seen(void) { return nscancodes >= 8; }

void guest_main(void)
{
  static const uint8_t cad[8] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
  int failures = 0;
  printf("isola-test: irq\n");
  idt_init();
  outb(0x21, 0xff); /* mask the 8259s: everything comes through the IOAPIC */
  outb(0xa1, 0xff);
  lapic_enable();
  uint8_t self = (uint8_t)lapic_id();
  irq_set_handler(V_PIT, on_pit);
  irq_set_handler(V_LAPIC, on_lapic);
  irq_set_handler(V_COM1, on_com1);
  irq_set_handler(V_KBD, on_kbd);
  ioapic_route(0, V_PIT, self);
  ioapic_route(1, V_KBD, self);
  ioapic_route(4, V_COM1, self);
  outb(0x43, 0x34); /* PIT channel 0, mode 2, 1 kHz */
  outb(0x40, 1193 & 0xff);
  outb(0x40, 1193 >> 8);
  lapic_write(0x3e0, 0x3);                 /* divide by 16 */
  lapic_write(0x320, V_LAPIC | (1 << 17)); /* periodic */
  lapic_write(0x380, 200000);

  bool ok = wait_for(timers_ran, 5000);
  printf("irq: pit ticks %lu, lapic timer ticks %lu\n", pit_ticks, lapic_ticks);
  failures += !ok;

  outb(COM1 + 1, 0x02); /* transmit-empty interrupt */
  ok = wait_for(thre_seen, 1000);
  outb(COM1 + 1, 0x00);
  printf("irq: serial transmit-empty interrupts %lu\n", thre_irqs);
  failures += !ok;

  outb(COM1 + 1, 0x01); /* received-data interrupt */
  printf("irq: ready for input\n");
  ok = wait_for(line_seen, 20000);
  line[line_len] = 0;
  printf("irq: got line '%s' in %lu receive interrupts\n", (const char *)line, rx_irqs);
  failures += !ok;

  printf("irq: waiting for ctrl-alt-del\n");
  ok = wait_for(keys_seen, 20000);
  printf("irq: keyboard interrupts %lu, scancodes", kbd_irqs);
  for (int i = 0; i < nscancodes; i++)
    printf(" %02x", scancodes[i]);
  printf("\n");
  failures += !(ok && !memcmp((const void *)scancodes, cad, 8));

  lapic_write(0x320, 1 << 16); /* mask the timer */
  boot_done();
  printf("isola-test: %s\n", failures ? "FAIL" : "PASS");
}

void ap_main(int index)
{
  (void)index;
}

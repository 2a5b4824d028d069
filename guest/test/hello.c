/* The smallest guest: says hello, signals the boot timer, and ends the way
 * the command line asks (isola.exit=): s5 (default, ACPI power off), kbd
 * (i8042 reset, as reboot=k), cf9 (the FADT reset register), triple (a
 * triple fault, which the VMM must report as a failure) or hold (halt with
 * interrupts off: the VM stays up, for RSS measurements).  bench/vmm times
 * isola-vmm and QEMU booting it. */
#include "lib.h"

static bool has(const char *cmdline, const char *word)
{
  size_t n = strlen(word);
  for (const char *p = cmdline; p && *p; p++)
    if ((p == cmdline || p[-1] == ' ') && !memcmp(p, word, n) && (p[n] == ' ' || !p[n]))
      return true;
  return false;
}

void guest_main(void)
{
  struct bootinfo b;
  puts_serial("isola-test: hello\n");
  bootinfo_read(&b);
  boot_done();
  puts_serial("isola-test: PASS\n");
  if (has(b.cmdline, "isola.exit=kbd")) {
    outb(0x64, 0xfe);
  } else if (has(b.cmdline, "isola.exit=cf9")) {
    outb(0xcf9, 0x06);
  } else if (has(b.cmdline, "isola.exit=triple")) {
    struct {
      uint16_t limit;
      uint64_t base;
    } __attribute__((packed)) none = {0, 0};
    __asm__ volatile("lidt %0; ud2" : : "m"(none));
  } else if (has(b.cmdline, "isola.exit=hold")) {
    for (;;)
      __asm__ volatile("cli; hlt");
  }
}

void ap_main(int index)
{
  (void)index;
}

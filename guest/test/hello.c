/* The smallest guest: says hello, signals the boot timer, powers off.
 * bench/vmm times isola-vmm and QEMU booting it. */
#include "lib.h"

void guest_main(void)
{
  puts_serial("isola-test: hello\n");
  boot_done();
  puts_serial("isola-test: PASS\n");
}

void ap_main(int index)
{
  (void)index;
}

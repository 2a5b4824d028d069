/* A guest whose state lives in memory and registers: it counts forever and
 * prints the count every 4096 steps with the first half of the VM
 * generation ID ("isola-test: count N gen X").  Snapshot tests pause it,
 * save it, restore it (in a new process, or ten clones at once) and check
 * that it goes on from where it was, never from 0, each clone with a
 * generation ID of its own. */
#include "lib.h"

static volatile uint64_t counter;
#define VMGENID 0xef000ULL /* LAYOUT_VMGENID */

void guest_main(void)
{
  puts_serial("isola-test: count start\n");
  boot_done();
  for (;;) {
    counter++;
    if ((counter & ((1u << 12) - 1)) == 0)
      printf("isola-test: count %llu gen %016llx\n", (unsigned long long)(counter >> 12),
             (unsigned long long)*(volatile uint64_t *)VMGENID);
  }
}

void ap_main(int index)
{
  (void)index;
}

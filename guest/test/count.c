/* A guest whose state lives in memory and registers: it counts forever and
 * prints the count every 4096 steps ("isola-test: count N").  Snapshot
 * tests pause it, save it, restore it (in a new process, or ten clones at
 * once) and check that it goes on from where it was, never from 0. */
#include "lib.h"

static volatile uint64_t counter;

void guest_main(void)
{
  puts_serial("isola-test: count start\n");
  boot_done();
  for (;;) {
    counter++;
    if ((counter & ((1u << 12) - 1)) == 0)
      printf("isola-test: count %llu\n", (unsigned long long)(counter >> 12));
  }
}

void ap_main(int index)
{
  (void)index;
}

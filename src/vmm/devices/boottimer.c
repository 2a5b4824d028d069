#include "vmm/devices/boottimer.h"

#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "vmm/layout.h"

static void bt_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  const struct boottimer *t = dev;
  if (off != 0 || len != 1 || data[0] != BOOT_TIMER_MAGIC)
    return;
  uint64_t wall = clock_us(CLOCK_MONOTONIC) - t->start_wall_us;
  uint64_t cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t->start_cpu_us;
  log_info("Guest-boot-time = %8llu us %4llu ms, %8llu CPU us %4llu CPU ms",
           (unsigned long long)wall, (unsigned long long)(wall / 1000), (unsigned long long)cpu,
           (unsigned long long)(cpu / 1000));
}

int boottimer_attach(struct boottimer *t, uint64_t start_wall_us, uint64_t start_cpu_us,
                     struct bus *mmio, err_t *err)
{
  t->start_wall_us = start_wall_us;
  t->start_cpu_us = start_cpu_us;
  struct bus_range r = {.name = "boot-timer", .base = LAYOUT_BOOT_TIMER, .len = 0x1000, .dev = t,
                        .write = bt_write};
  return bus_register(mmio, &r, err);
}

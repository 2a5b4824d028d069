#include "vmm/devices/power.h"

#include <string.h>

#include "vmm/layout.h"

#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 7)
#define S5 5
#define RESET_CPU 0x04

static void sleep_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  struct power *p = dev;
  if (off == 0 && (data[0] & SLP_EN) && SLP_TYP(data[0]) == S5)
    stop_hook_fire(&p->stop, 0, "the guest powered off (ACPI S5)");
}

static void sleep_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  memset(data, 0, len); /* status: never woken */
}

static void reset_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  struct power *p = dev;
  if (data[0] & RESET_CPU)
    stop_hook_fire(&p->stop, 0, "the guest reset the machine (reset register)");
}

int power_attach(struct power *p, struct stop_hook stop, struct bus *pio, err_t *err)
{
  p->stop = stop;
  struct bus_range sleep = {.name = "acpi-sleep", .base = PORT_ACPI_SLEEP, .len = 2, .dev = p,
                            .read = sleep_read, .write = sleep_write};
  struct bus_range reset = {.name = "reset", .base = PORT_RESET, .len = 1, .dev = p,
                            .read = sleep_read, .write = reset_write};
  if (bus_register(pio, &sleep, err) < 0)
    return -1;
  return bus_register(pio, &reset, err);
}

/* The FADT's hardware-reduced power registers (ACPI 6.4 §4.8.3.7): the
 * sleep control register ends the VM when the guest enters S5 (SLP_TYP 5
 * with SLP_EN), and the reset register (port 0xcf9, value 6) resets it. */
#ifndef ISOLA_VMM_DEVICES_POWER_H
#define ISOLA_VMM_DEVICES_POWER_H

#include "vmm/bus.h"
#include "vmm/devices/irq.h"

struct power {
  struct stop_hook stop;
};

int power_attach(struct power *p, struct stop_hook stop, struct bus *pio, err_t *err);

#endif

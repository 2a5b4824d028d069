/* Firecracker's boot-timer pseudo device: the guest writes the byte 123 at
 * LAYOUT_BOOT_TIMER when it has booted, and the VMM logs the time since it
 * started (wall and CPU), in Firecracker's words. */
#ifndef ISOLA_VMM_DEVICES_BOOTTIMER_H
#define ISOLA_VMM_DEVICES_BOOTTIMER_H

#include <stdint.h>

#include "vmm/bus.h"

#define BOOT_TIMER_MAGIC 123

struct boottimer {
  uint64_t start_wall_us, start_cpu_us;
};

int boottimer_attach(struct boottimer *t, uint64_t start_wall_us, uint64_t start_cpu_us,
                     struct bus *mmio, err_t *err);

#endif

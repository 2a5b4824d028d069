/* The VM generation ID's host side: 16 random bytes at LAYOUT_VMGENID,
 * described to the guest in the DSDT (VGEN, and the GED whose interrupt
 * announces a change).  A booted VM gets one; every restore gets a new one
 * and the interrupt, so each clone's kernel reseeds its random number
 * generator (Linux: vmgenid -> add_vmfork_randomness). */
#ifndef ISOLA_VMM_DEVICES_VMGENID_H
#define ISOLA_VMM_DEVICES_VMGENID_H

#include "common/err.h"
#include "vmm/memory.h"

#define VMGENID_SIZE 16

/* A new generation ID in guest memory. */
int vmgenid_generate(const struct guest_mem *gm, err_t *err);
/* The new ID, and the GED's interrupt (an edge on IRQ_VMGENID). */
int vmgenid_changed(const struct guest_mem *gm, int vm_fd, err_t *err);

#endif

/* Snapshots of a paused microVM (Firecracker's "full" snapshot: state file
 * plus memory file).
 *
 * The state file is versioned ("ISOLASNP", format 1) and made of records
 * (u32 tag, u32 index, u32 length, bytes): the machine (vCPU count, memory
 * size), then per vCPU its registers, special registers, FPU, XSAVE area,
 * XCRs, MSRs, local APIC, MP state, pending events and debug registers,
 * then the PIC and IOAPIC, the PIT, the KVM clock and the serial port.
 * The memory file holds the guest's RAM regions one after the other; a
 * restore maps it privately (copy-on-write, pages fault in lazily), so any
 * number of clones can be restored from one snapshot at once.
 *
 * Virtio devices are not in format 1: a VM with any is refused. */
#ifndef ISOLA_VMM_SNAPSHOT_SNAPSHOT_H
#define ISOLA_VMM_SNAPSHOT_SNAPSHOT_H

#include <stdint.h>

#include "common/err.h"

struct vm;

#define SNAPSHOT_MAGIC "ISOLASNP"
#define SNAPSHOT_VERSION 1

/* Write the state and memory files of a paused VM. */
int snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, err_t *err);

/* The machine a state file describes, to size a VM before loading it. */
int snapshot_read_machine(const char *state_path, int *ncpus, uint64_t *memory, err_t *err);

/* Put a state file's vCPU, interrupt controller, timer, clock and serial
 * state into a VM made with that machine (its memory mapped from the
 * memory file, its vCPUs created and not started). */
int snapshot_restore(struct vm *vm, const char *state_path, err_t *err);

#endif

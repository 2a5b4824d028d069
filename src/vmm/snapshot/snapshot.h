/* Snapshots of a paused microVM (Firecracker's "full" snapshot: state file
 * plus memory file).
 *
 * The state file is versioned ("ISOLASNP", format 1) and made of records
 * (u32 tag, u32 index, u32 length, bytes): the machine (vCPU count, memory
 * size), then per vCPU its registers, special registers, FPU, XSAVE area,
 * XCRs, MSRs, local APIC, MP state, pending events and debug registers,
 * then the PIC and IOAPIC, the PIT, the KVM clock and the serial port,
 * and (format 2) the virtio devices' configuration as JSON and each
 * virtio transport: its registers and every queue's rings and indexes.
 * The memory file holds the guest's RAM regions one after the other; a
 * restore maps it privately (copy-on-write, pages fault in lazily), so any
 * number of clones can be restored from one snapshot at once.
 *
 * A restore opens the same devices (a NIC may be pointed at another tap),
 * finds the queues where the driver left them, looks at each once, and
 * tells the guest's vsock driver its connections are gone (the host side
 * of them stayed with the old process).  Format 1 files (no devices) are
 * read too. */
#ifndef ISOLA_VMM_SNAPSHOT_SNAPSHOT_H
#define ISOLA_VMM_SNAPSHOT_SNAPSHOT_H

#include <stdint.h>

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

struct vm;
struct vm_config;

#define SNAPSHOT_MAGIC "ISOLASNP"
#define SNAPSHOT_VERSION 2
#define SNAPSHOT_OLDEST 1

/* Write the state and memory files of a paused VM.  `diff`: the memory
 * file gets only the pages written since the last snapshot (or since the
 * restore), at their offsets (Firecracker's Diff snapshot: needs dirty-page
 * tracking); merged onto the last memory file it makes the whole memory. */
int snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, bool diff, err_t *err);

/* Copy the pages a Diff memory file holds (its data; holes elsewhere) onto
 * its base memory file, which then holds the whole memory at the Diff. */
int snapshot_rebase(const char *base, const char *diff, err_t *err);

/* The machine a state file describes (vCPUs, memory, devices) into `cfg`,
 * to build the VM before loading it; the device strings point into
 * *devices, which the caller keeps until the VM is gone (json_decref). */
int snapshot_read_config(const char *state_path, struct vm_config *cfg, json_t **devices, err_t *err);

/* Put a state file's vCPU, interrupt controller, timer, clock and serial
 * state into a VM made with that machine (its memory mapped from the
 * memory file, its vCPUs created and not started). */
int snapshot_restore(struct vm *vm, const char *state_path, err_t *err);

#endif

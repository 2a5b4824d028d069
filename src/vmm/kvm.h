#ifndef ISOLA_VMM_KVM_H
#define ISOLA_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/kvm.h>

#include "common/err.h"
#include "vmm/memory.h"

/* Open /dev/kvm, check the API version and the capabilities isola-vmm
 * relies on; the errors say what to do about a missing or closed device. */
int kvm_open(int *kvm_fd, size_t *run_size, err_t *err);

/* KVM_CREATE_VM plus the platform: TSS, identity map, irqchip, PIT. *vm_fd
 * is set as soon as the VM exists, so the caller closes it on failure. */
int kvm_create_vm(int kvm_fd, int *vm_fd, err_t *err);

/* Register the regions as KVM's memory slots (slot = region index), with
 * dirty-page logging when `gm` tracks dirty pages. */
int kvm_set_memory(int vm_fd, const struct guest_mem *gm, err_t *err);
/* Fetch (and so reset) KVM's log of the pages the guest wrote since the
 * last call, into gm's own bitmap: nothing is lost if a snapshot fails. */
int kvm_collect_dirty(int vm_fd, struct guest_mem *gm, err_t *err);

int kvm_irq_line(int vm_fd, int irq, bool level);

#endif

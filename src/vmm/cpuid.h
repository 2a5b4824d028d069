/* The CPUID table each vCPU gets: KVM_GET_SUPPORTED_CPUID with this vCPU's
 * APIC ID and the VM's topology filled in.  Leaves 0x40000000-0x4fffffff
 * (the hypervisor's own) pass through unchanged: PVM guests detect PVM
 * there (../shared/PLATFORM.md), so a VMM must not overwrite them. */
#ifndef ISOLA_VMM_CPUID_H
#define ISOLA_VMM_CPUID_H

#include <linux/kvm.h>

#include "common/err.h"

/* The supported table, grown until KVM stops saying E2BIG; free() it. */
struct kvm_cpuid2 *cpuid_supported(int kvm_fd, err_t *err);

/* A copy of `supported` for vCPU `id` of `ncpus` (one package, one thread
 * per core, APIC ID = id); free() it. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, int id, int ncpus,
                                  err_t *err);

#endif

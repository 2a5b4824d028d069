/* Seccomp filters per thread kind, as Firecracker installs them: each
 * thread loads its own allow-list (libseccomp) before it touches the guest
 * or the API, and any other system call kills the VMM (SIGSYS).
 *
 *   vcpu    KVM_RUN and the exits it handles: ioctl, reads and writes on
 *           open descriptors, futexes, memory, signals, time
 *   device  the virtio loop: epoll, io_uring, getrandom, and the sockets of
 *           vsock (socket, connect, accept4, send/recv…)
 *   api     the API thread: accepted connections and the files snapshots,
 *           metrics and snapshot/load open
 *
 * None of them may execve, fork or clone, ptrace, mount, change
 * credentials or namespaces.  --no-seccomp turns them off (debugging). */
#ifndef ISOLA_VMM_SANDBOX_H
#define ISOLA_VMM_SANDBOX_H

#include <stdbool.h>

#include "common/err.h"

enum sandbox_kind { SANDBOX_VCPU, SANDBOX_DEVICE, SANDBOX_API };

extern bool sandbox_enabled;

int sandbox_apply(enum sandbox_kind kind, err_t *err);

/* Test hook: ISOLA_VMM_SECCOMP_SELFTEST=vcpu|device|api makes that thread
 * call unshare(0) (harmless, and in no allow-list) once its filter is in
 * place. */
void sandbox_selftest(enum sandbox_kind kind);

#endif

/* `isola run --vm`: the container's image, flags and semantics in a KVM
 * microVM.  isola-vmm boots the guest kernel with an initramfs holding
 * isola-init, the image as a read-only root disk (erofs/ext4 from
 * `image disk`) plus a writable overlay disk, and a vsock device; the
 * monitor then runs the entrypoint through isola-init's agent (guest/init/
 * proto.h) and carries stdio, signals and the exit status over vsock. */
#ifndef ISOLA_ENGINE_VM_VM_H
#define ISOLA_ENGINE_VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"
#include "engine/container/ctr.h"

/* vm.json: the VMM's command line and the agent's exec request, from which
 * the monitor runs the microVM (lifecycle/start.c launches it). */
int vm_write_plan(struct ctr *c, err_t *err);

/* A connection to the agent: "vsock:UDS" (the VMM's vsock socket, port
 * 1024) or "unix:PATH" (isola-init --agent run as a process, for tests),
 * retried until `timeout_ms` or until `vmm` (when > 0) exits. */
int vm_agent_connect(const char *agent, pid_t vmm, int timeout_ms, err_t *err);

int vm_signal(struct ctr *c, int sig, err_t *err);
void vm_cleanup(struct ctr *c);
/* `isola exec` in a microVM container: through the agent; the exit code,
 * or -1 with *err. */
int vm_exec(struct ctr *c, int argc, char **argv, const char **env, size_t nenv, const char *cwd,
            bool interactive, bool tty, err_t *err);

#endif

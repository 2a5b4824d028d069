/* Turning the current process into the container's process: the steps
 * shared by the init process and `exec`, in the order they must happen. */
#ifndef ISOLA_RUNTIME_CONTAINER_PROCESS_H
#define ISOLA_RUNTIME_CONTAINER_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"
#include "runtime/spec/spec.h"

/* Find args[0] the way execvp would, with the PATH of the process's env,
 * in the filesystem the caller now sees.  Messages use the words engines
 * map to exit codes 127 and 126. */
int process_find_exec(const struct spec_process *p, char **out, err_t *err);

/* rlimits, oom_score_adj, umask: while still privileged. */
int process_apply_limits(const struct spec_process *p, err_t *err);

/* Close every fd above 2 + preserve_fds except `keep` (may be -1). */
void process_close_fds(int preserve_fds, int keep);

/* User, groups, capabilities, no_new_privs, seccomp, cwd; then execve.
 * `sync_fd` carries a seccomp listener fd to the runtime (see
 * seccomp_apply).  The environment gains HOME when it has none (runc's)
 * and, when listen_fds > 0, LISTEN_FDS and LISTEN_PID (sd_listen_fds(3)).
 * Returns only on failure. */
int process_exec(const struct spec_process *p, const struct spec_seccomp *seccomp, int sync_fd,
                 const char *exec_path, bool setgroups_allowed, int listen_fds, err_t *err);

/* lsm.c: AppArmor profile and SELinux label for the next execve, where
 * the host has them (a warning otherwise). */
int lsm_apply(const struct spec_process *p, err_t *err);
bool lsm_apparmor_enabled(void);
bool lsm_selinux_enabled(void);

/* seccomp.c: compile the profile and load it into this thread.  When it
 * has SCMP_ACT_NOTIFY rules and a listenerPath, the listener fd goes to the
 * runtime over `sync_fd` (SYNC_SECCOMP), which passes it on to the listener
 * and answers SYNC_SECCOMP_DONE. */
int seccomp_apply(const struct spec_seccomp *s, int sync_fd, err_t *err);

/* The runtime's side: send `notify_fd` with the container process state
 * (config-linux.md "containerProcessState") to linux.seccomp.listenerPath. */
int seccomp_listener_send(const struct spec_seccomp *s, int notify_fd, pid_t pid,
                          const json_t *state, err_t *err);
/* Take the fd the process sends over `sync` (SYNC_SECCOMP), pass it on with
 * seccomp_listener_send and answer SYNC_SECCOMP_DONE, or SYNC_ERROR. */
int seccomp_listener_relay(int sync, const struct spec_seccomp *s, pid_t pid, const json_t *state,
                           err_t *err);

#endif

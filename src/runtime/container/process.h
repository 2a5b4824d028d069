/* Turning the current process into the container's process: the steps
 * shared by the init process and `exec`, in the order they must happen. */
#ifndef ISOLA_RUNTIME_CONTAINER_PROCESS_H
#define ISOLA_RUNTIME_CONTAINER_PROCESS_H

#include <stdbool.h>

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
 * Returns only on failure. */
int process_exec(const struct spec_process *p, const struct spec_seccomp *seccomp,
                 const char *exec_path, bool setgroups_allowed, err_t *err);

/* seccomp.c: compile the profile and load it into this thread. */
int seccomp_apply(const struct spec_seccomp *s, err_t *err);

#endif

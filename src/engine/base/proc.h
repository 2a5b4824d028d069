/* Processes the engine starts and watches: spawning helpers with given
 * stdio, Docker-style exit statuses, liveness by PID and start time. */
#ifndef ISOLA_ENGINE_BASE_PROC_H
#define ISOLA_ENGINE_BASE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/procstat.h"

/* fork+exec argv[0] (a path or a name in $PATH) with fds 0-2 from in, out
 * and errfd (-1: /dev/null); every other fd is closed in the child. */
pid_t proc_spawn(const char *const *argv, int in, int out, int errfd, err_t *err);
/* waitpid, retried on EINTR; the exit code, or 128+signal. */
int proc_wait(pid_t pid);
/* The same conversion of a wait status. */
int proc_exit_code(int wstatus);

/* The process exists, is no zombie and started at `start` (0: any;
 * common/procstat.h's proc_start_time gives it). */
bool proc_alive(pid_t pid, unsigned long long start);

/* Detach whatever is mounted on `path` (stacked mounts too); quiet. */
void proc_unmount_all(const char *path);
bool proc_is_mountpoint(const char *path);

#endif

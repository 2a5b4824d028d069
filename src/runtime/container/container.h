/* Container operations, one function per runtime command.  The command
 * files in cli/ parse flags and call these. */
#ifndef ISOLA_RUNTIME_CONTAINER_H
#define ISOLA_RUNTIME_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/spec/spec.h"

struct create_opts {
  const char *root; /* state root */
  const char *id;
  const char *bundle;
  const char *pid_file;
  const char *console_socket;
  int console_fd; /* > 0: a connected console socket to use instead */
  bool no_pivot;
  int preserve_fds;
  int listen_fds; /* > 0: socket activation: fds 3.. are the container's LISTEN_FDS */
  bool subreaper; /* `run` waits for the init: keep it as our child */
};

int container_create(const struct create_opts *o, pid_t *init_pid, err_t *err);
int container_start(const char *root, const char *id, err_t *err);
int container_kill(const char *root, const char *id, int sig, bool all, err_t *err);
int container_delete(const char *root, const char *id, bool force, err_t *err);
int container_state(const char *root, const char *id, json_t **out, err_t *err);
int container_pause(const char *root, const char *id, bool pause, err_t *err);
int container_list(const char *root, json_t **out, err_t *err);
int container_pids(const char *root, const char *id, pid_t **pids, size_t *n, err_t *err);
int container_update(const char *root, const char *id, const json_t *resources, err_t *err);
int container_stats(const char *root, const char *id, json_t **out, err_t *err);

struct exec_opts {
  const char *root;
  const char *id;
  struct spec_process *process; /* filled by the caller from --process or args */
  const char *pid_file;
  const char *console_socket;
  bool detach;
  int preserve_fds;
};

/* Returns the process's exit status when not detached, 0 when detached. */
int container_exec(const struct exec_opts *o, int *status, err_t *err);

/* Wait for a child (the init, after `run`), forwarding signals; returns
 * its exit status in the shell's convention (128+signal). */
int wait_forwarding(pid_t pid);
/* Its two halves: forward our signals to pid (SIGWINCH only noted, for
 * forward_winch_seen(), when own_winch), then reap until pid exits. */
void forward_signals(pid_t pid, bool own_winch);
bool forward_winch_seen(void);
int wait_reaping(pid_t pid);

#endif

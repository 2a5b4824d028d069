/* A terminal for `run` and `exec` in the foreground without --console-socket:
 * the runtime takes the pty master itself, as runc does, and copies between
 * it and its own stdin/stdout until the process exits. */
#ifndef ISOLA_RUNTIME_CONTAINER_TTYPROXY_H
#define ISOLA_RUNTIME_CONTAINER_TTYPROXY_H

#include <sys/types.h>

#include "common/err.h"

/* A connected pair: give `theirs` to create/exec as the console socket,
 * keep `ours` for tty_receive(). */
int tty_socketpair(int *ours, int *theirs, err_t *err);

/* The master the container sent over `sock`; -1 with ENOMSG in *err when
 * none was sent (process.terminal was false). Never blocks. */
int tty_receive(int sock, err_t *err);

/* Put our stdin in raw mode (when it is a terminal), keep the master's size
 * in step with it, copy both ways, forward signals to `pid`, and return its
 * exit status (128+signal when killed), reaping orphans as wait_forwarding
 * does.  Closes `master`. */
int tty_proxy_wait(int master, pid_t pid);

#endif

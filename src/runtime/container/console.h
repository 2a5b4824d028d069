/* --console-socket: the runtime makes a pseudo-terminal inside the
 * container and hands its master to the engine over a Unix socket
 * (runtime.md "Console Socket"; runc's and crun's wire format: one message,
 * the fd in SCM_RIGHTS). */
#ifndef ISOLA_RUNTIME_CONTAINER_CONSOLE_H
#define ISOLA_RUNTIME_CONTAINER_CONSOLE_H

#include <stdint.h>

#include "common/err.h"

/* Connect to the engine's socket (done by the runtime before forking). */
int console_connect(const char *path, err_t *err);

/* In the container: open a pty, send its master over `sock`, make the
 * slave our controlling terminal and stdio.  `console_bind` also binds it
 * on /dev/console. */
int console_setup(int sock, uint32_t rows, uint32_t cols, int console_bind, err_t *err);

/* Send one fd over a Unix socket with `name` as the message body. */
int send_fd(int sock, int fd, const char *name, err_t *err);

#endif

/* Listening Unix sockets at a path: a socket file nobody listens on (left
 * by a process that was killed) is replaced; a live one is refused. */
#ifndef ISOLA_COMMON_UDS_H
#define ISOLA_COMMON_UDS_H

#include "common/err.h"

/* A non-blocking, close-on-exec listening socket at `path`; `what` names it
 * in errors ("vsock socket"). */
int uds_listen(const char *path, const char *what, err_t *err);

#endif

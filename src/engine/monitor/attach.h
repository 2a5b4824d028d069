/* The attach protocol between a container's monitor and `isola run`
 * (foreground), `isola attach` and `isola start -a`, on the Unix socket
 * RUN/containers/ID/attach.sock.  Frames: u8 type, u32 big-endian length,
 * payload.
 *   monitor → client  'O' stdout bytes, 'E' stderr bytes, 'P' the container's
 *                     PID (decimal) once started, 'X' its exit code (decimal),
 *                     sent after the monitor has cleaned up, then EOF
 *   client → monitor  'I' stdin bytes (empty: end of input), 'W' "ROWS COLS"
 * A client that connects while the monitor waits for one (run without -d)
 * releases the container's start. */
#ifndef ISOLA_ENGINE_MONITOR_ATTACH_H
#define ISOLA_ENGINE_MONITOR_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/container/ctr.h"

#define ATTACH_MAX_FRAME (1u << 20)

int attach_send(int fd, char type, const void *data, size_t len);
/* A whole frame; *data is malloc'd (NUL-terminated).  0 at EOF, 1 with a
 * frame, -1 on error. */
int attach_recv(int fd, char *type, char **data, size_t *len);

/* bind/connect to a socket in directory `dir`, whatever the length of its
 * path (through /proc/self/fd). */
int attach_listen(const char *dir, const char *name, err_t *err);
int attach_connect(const char *dir, const char *name, err_t *err);

struct attach_opts {
  bool stdin_open; /* forward our stdin */
  bool tty;        /* raw terminal, window size, detach keys */
  bool sig_proxy;  /* forward SIGINT, SIGTERM... to the container */
};
/* Pump stdio until the container exits (*exit_code set, returns 0) or the
 * user detaches (ctrl-p ctrl-q on a tty: returns 1). */
int attach_session(int fd, const struct attach_opts *o, int *exit_code, err_t *err);

#endif

/* The isola-init agent protocol, between the host and a microVM's PID 1,
 * over one vsock stream per command (host: "CONNECT 1024\n" on the VM's
 * vsock socket) or, for tests, a Unix socket.  Every message is a frame:
 *
 *   u8 type | u32 length, big-endian | length bytes of payload
 *
 * host → guest:  'E' exec request, JSON: {"args": [...], "env": ["K=V"...],
 *                    "cwd": "/", "uid": 0, "gid": 0}  (first frame, once)
 *                'I' bytes for the command's stdin; an empty 'I' closes it
 *                'K' a signal for the command (u32, big-endian)
 *                'P' power the VM off (alone on a connection)
 * guest → host:  'O' stdout bytes, 'R' stderr bytes
 *                'X' the command ended: u32 big-endian status, Docker's
 *                    convention (the exit code, 128+N when killed by N,
 *                    126 not executable, 127 not found)
 *                'F' the request was refused: a message; 'X' 125 follows
 *
 * 'X' is the guest's last frame: it half-closes the connection then (the
 * host reads EOF) and reads and drops what the host still sends until the
 * host closes, so the host may write before, while and after the guest
 * answers without losing the answer to a reset.  The host must read the
 * answer even when a write of its own failed, and closes after 'X'.
 */
#ifndef ISOLA_INIT_PROTO_H
#define ISOLA_INIT_PROTO_H

#include <stdint.h>

#define AGENT_VSOCK_PORT 1024
#define FRAME_MAX (1 << 20)

enum {
  MSG_EXEC = 'E', MSG_STDIN = 'I', MSG_SIGNAL = 'K', MSG_POWEROFF = 'P',
  MSG_STDOUT = 'O', MSG_STDERR = 'R', MSG_EXIT = 'X', MSG_FAIL = 'F',
};

#endif

/* Passing one file descriptor over a Unix socket (SCM_RIGHTS), with a
 * message body: the console socket, the runtime's sync socket and the
 * seccomp listener all speak this. */
#ifndef ISOLA_COMMON_FDPASS_H
#define ISOLA_COMMON_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* sendmsg `len` bytes of `data` with `fd` attached (none when fd < 0).
 * Returns what sendmsg returns, errno set on failure. */
ssize_t fd_send(int sock, const void *data, size_t len, int fd);

/* recvmsg into `buf`; *fd is the attached fd (close-on-exec) or -1.
 * `flags` are recvmsg's (MSG_DONTWAIT...).  Returns what recvmsg returns. */
ssize_t fd_recv(int sock, void *buf, size_t len, int flags, int *fd);

#endif

/* The messages between the runtime and the processes it forks while making
 * a container (a SOCK_SEQPACKET socketpair: one message per send). */
#ifndef ISOLA_RUNTIME_CONTAINER_SYNC_H
#define ISOLA_RUNTIME_CONTAINER_SYNC_H

#include <sys/types.h>

#include "common/err.h"

enum sync_type {
  SYNC_GO = 1,       /* parent -> child: cgroup ready, carry on */
  SYNC_USERMAP,      /* child -> parent: user ns made, write my id maps */
  SYNC_USERMAP_DONE, /* parent -> child */
  SYNC_PID,          /* child -> parent: the container's init pid (host view) */
  SYNC_HOOKS,        /* init -> parent: run prestart/createRuntime now */
  SYNC_HOOKS_DONE,   /* parent -> init */
  SYNC_READY,        /* init -> parent: set up, waiting for start */
  SYNC_SECCOMP,      /* child -> parent: a seccomp listener fd (SCM_RIGHTS) */
  SYNC_SECCOMP_DONE, /* parent -> child: delivered to linux.seccomp.listenerPath */
  SYNC_ERROR,        /* child -> parent: text says what failed */
};

struct sync_msg {
  int type;
  int value;
  int errnum;
  char text[3072];
};

int sync_send(int fd, enum sync_type type, int value, err_t *err);
/* Sends SYNC_ERROR carrying an error's text and errno. */
void sync_send_error(int fd, const err_t e);
/* Receive one message; a SYNC_ERROR becomes an error with its text.
 * `expect` is the type wanted; anything else is an error too. */
int sync_recv(int fd, enum sync_type expect, int *value, err_t *err);
/* The same, carrying one fd (SCM_RIGHTS); *passfd is -1 when none came. */
int sync_send_fd(int fd, enum sync_type type, int passfd, err_t *err);
int sync_recv_fd(int fd, enum sync_type expect, int *value, int *passfd, err_t *err);

#endif

/* The container's init process: everything that happens inside the new
 * namespaces between fork and execve of the user's program. */
#ifndef ISOLA_RUNTIME_CONTAINER_INIT_H
#define ISOLA_RUNTIME_CONTAINER_INIT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/spec/spec.h"
#include "sys/cgroup/cgroup.h"

struct init_ctx {
  const struct spec *spec;
  const char *rootfs;
  const char *id;
  const char *bundle;
  const struct cgroup *cg;
  int sync_fd;
  int console_fd; /* -1 without a terminal */
  int fifo_fd;    /* O_PATH to exec.fifo */
  bool userns;
  bool no_pivot;
  int preserve_fds;
  int listen_fds; /* create_opts.listen_fds */
  const int *idmap_fds; /* NULL, or one per mount (idmap.h) */
  /* The runtime's mount namespace (st_dev, st_ino of /proc/self/ns/mnt;
   * 0 when unknown): an init still in it shares the caller's mounts. */
  dev_t caller_mntns_dev;
  ino_t caller_mntns_ino;
};

/* Never returns. */
__attribute__((noreturn)) void init_main(const struct init_ctx *ctx);

#endif

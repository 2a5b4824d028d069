/* Mount-namespace steps that both a container's init (runtime) and the
 * VMM's jail take to stand in a root of their own: a private namespace,
 * the new root made a mount point, pivot_root into it. */
#ifndef ISOLA_SYS_MNTNS_H
#define ISOLA_SYS_MNTNS_H

#include "common/err.h"

/* A new mount namespace for the caller whose mounts all become private, so
 * that nothing mounted in it propagates back to the host. */
int mntns_unshare_private(err_t *err);

/* Bind-mount `dir` onto itself (recursively): pivot_root needs the new root
 * to be a mount point. */
int mntns_bind_self(const char *dir, err_t *err);

/* Make the absolute `dir`, a mount point, the root and the working
 * directory; the old root is detached, leaving nothing of the host behind. */
int mntns_pivot_root(const char *dir, err_t *err);

#endif

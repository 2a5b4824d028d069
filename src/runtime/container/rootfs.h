/* Building the container's filesystem view inside its mount namespace:
 * mounts from the config, /dev, pivot_root, masked and read-only paths. */
#ifndef ISOLA_RUNTIME_CONTAINER_ROOTFS_H
#define ISOLA_RUNTIME_CONTAINER_ROOTFS_H

#include <stdbool.h>

#include "common/err.h"
#include "runtime/spec/spec.h"
#include "sys/cgroup/cgroup.h"

struct rootfs_ctx {
  const struct spec *spec;
  const char *rootfs;       /* absolute host path */
  const struct cgroup *cg;  /* for cgroup mounts */
  bool userns;              /* devices are bind-mounted, not made */
  bool cgroupns;
  bool no_pivot;
  /* No mount namespace of its own: the container shares the caller's, so
   * nothing may be mounted (rootfs_prepare refuses what would) and the
   * root is entered with chroot. */
  bool shared_mntns;
  const int *idmap_fds;     /* per mount: a detached idmapped tree (idmap.h), or -1 */
};

/* Before the hooks: propagation, the rootfs bind, every mount, /dev. */
int rootfs_prepare(const struct rootfs_ctx *ctx, err_t *err);
/* After them: pivot_root (or chroot), then the paths the config protects. */
int rootfs_pivot(const struct rootfs_ctx *ctx, err_t *err);
int rootfs_finish(const struct rootfs_ctx *ctx, err_t *err);

#endif

/* Idmapped bind mounts (config.md "Mounts": uidMappings/gidMappings): the
 * files of the source appear with their ids shifted by the mapping, without
 * chown.  The kernel takes the mapping from a user namespace, and only a
 * process privileged over the source's filesystem may apply it: the runtime
 * makes a detached, idmapped copy of each such source on the host (open_tree,
 * mount_setattr(MOUNT_ATTR_IDMAP)) before the container's namespaces exist,
 * and the init attaches it in the container (move_mount). */
#ifndef ISOLA_RUNTIME_CONTAINER_IDMAP_H
#define ISOLA_RUNTIME_CONTAINER_IDMAP_H

#include <stdbool.h>

#include "common/err.h"
#include "runtime/spec/spec.h"

/* A user namespace fd carrying the mount's mappings. */
int idmap_userns(const struct spec_mount *m, err_t *err);

/* The detached idmapped copy of a bind mount's source. */
int idmap_tree(const struct spec_mount *m, err_t *err);

/* idmap_tree() for every mount with mappings (-1 for the others), into a
 * new array of s->n_mounts fds; idmap_close_all() frees it. */
int idmap_open_all(const struct spec *s, int **fds, err_t *err);
void idmap_close_all(int *fds, size_t n);

/* Attach a tree from idmap_tree() on the open target `target_fd`. */
int idmap_attach(int tree, int target_fd, err_t *err);

#endif

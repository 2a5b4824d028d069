/* Undoing a container on the host. */
#ifndef ISOLA_ENGINE_CONTAINER_REMOVE_H
#define ISOLA_ENGINE_CONTAINER_REMOVE_H

#include <stdbool.h>

#include "common/err.h"
#include "engine/container/ctr.h"

/* Undo what a dead monitor left: the runtime's container, the rootfs
 * mount; and mark the state exited. */
int ctr_cleanup_dead(struct ctr *c, err_t *err);

/* Remove everything of a container that has no monitor: runtime state,
 * mounts, anonymous volumes (when `volumes`), its directories. */
int ctr_remove_files(struct ctr *c, bool volumes, err_t *err);

#endif

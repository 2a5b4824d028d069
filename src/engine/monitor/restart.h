/* When the monitor runs a container again: its restart policy (Docker's
 * no, on-failure[:N], always, unless-stopped), unless a manual stop says
 * otherwise. */
#ifndef ISOLA_ENGINE_MONITOR_RESTART_H
#define ISOLA_ENGINE_MONITOR_RESTART_H

#include <stdbool.h>

#include "engine/container/ctr.h"

/* RUN/containers/ID/manual-stop: `stop` and `kill` leave it so that the
 * monitor does not restart the container. */
int monitor_mark_stopped(const struct ctr *c, bool stopped);

/* The manual-stop mark is there. */
bool monitor_manually_stopped(const struct ctr *c);

/* After an exit with `code` and `restarts` restarts so far; *force (set by
 * --health-on-failure=restart) restarts once whatever the policy, and is
 * cleared. */
bool monitor_want_restart(const struct ctr *c, int code, int restarts, bool *force);

#endif

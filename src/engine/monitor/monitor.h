/* The per-container monitor (our conmon): a small daemon that creates the
 * container through isola-runtime, owns its stdio, writes the json-file
 * log, serves attach clients, reaps the container's init (as a child
 * subreaper), records the exit status, runs healthchecks, applies the
 * restart policy, and at the end unmounts the root (and removes the
 * container for --rm).  It is the only writer of state.json while it
 * lives. */
#ifndef ISOLA_ENGINE_MONITOR_MONITOR_H
#define ISOLA_ENGINE_MONITOR_MONITOR_H

#include <stdbool.h>

#include "common/err.h"
#include "engine/container/ctr.h"

/* Fork the monitor for `c` (root mounted and bundle written) and wait for
 * its report: 0 once the container runs (or, with `wait_attach`, once it is
 * created and waits for the first attach client to start it); else -1 with
 * *exit_code 125, 126 (not executable) or 127 (not found). */
int monitor_launch(struct ctr *c, bool wait_attach, int *exit_code, err_t *err);

#endif

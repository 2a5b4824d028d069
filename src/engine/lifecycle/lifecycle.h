/* Starting, signalling and stopping a container: what the lifecycle verbs
 * (cli/run.c, cli/stop.c) and the restart of `restart` share.  Above the
 * monitor and the --vm plan, which they launch. */
#ifndef ISOLA_ENGINE_LIFECYCLE_LIFECYCLE_H
#define ISOLA_ENGINE_LIFECYCLE_LIFECYCLE_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "engine/container/ctr.h"

struct create_opts {
  const char *name;  /* NULL: a random adjective_noun */
  const char *image; /* as the user named it */
  const char *pull;  /* --pull: missing, always or never */
  bool tls_verify;
};

/* Make the container's record (rec: Config and HostConfig from the flags,
 * completed here) and directories; *c is open on success. */
int lifecycle_create(json_t *rec, const struct create_opts *f, struct ctr *c, err_t *err);

/* Mount the root, write the bundle (or the microVM plan) and launch the
 * monitor; c is left locked.  *code is the container's exit code when
 * wait_attach and it ran, else EXIT_ENGINE on failure. */
int lifecycle_start(struct ctr *c, bool wait_attach, int *code, err_t *err);

/* Wait for the monitor to finish (or for an orphaned container's process
 * to go), at most `secs` (negative: forever).  true when it did. */
bool lifecycle_wait_gone(struct ctr *c, double secs);

/* Send sig to the container's process (all of them with `all`). */
int lifecycle_signal(struct ctr *c, int sig, bool all, err_t *err);

/* Its stop signal, then SIGKILL after `timeout` seconds (negative: the
 * container's StopTimeout, else 10). */
int lifecycle_stop(struct ctr *c, long timeout, err_t *err);

/* lifecycle_stop, then lifecycle_start in the background. */
int lifecycle_restart(struct ctr *c, long timeout, err_t *err);

/* Remove a container that is not running (with `force`, kill it first),
 * its files and with `volumes` its anonymous volumes; `what` is the name
 * the user gave, for errors. */
int lifecycle_remove(struct ctr *c, const char *what, bool force, bool volumes, err_t *err);

#endif

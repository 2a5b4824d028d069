/* Containers as the engine keeps them.
 *
 *   ROOT/containers/ID/container.json  what `create` was asked for (Docker's
 *                                      inspect layout: Config, HostConfig…)
 *   ROOT/containers/ID/state.json      State: written by `create`, then only
 *                                      by the container's monitor while it
 *                                      lives (atomic renames)
 *   ROOT/containers/ID/{upper,work}    the overlay's writable half
 *   ROOT/containers/ID/rootfs          where the root is mounted while it runs
 *   ROOT/containers/ID/bundle          the OCI bundle (config.json)
 *   ROOT/containers/ID/ctr.log*        json-file logs
 *   ROOT/containers/ID/lock            flock: one lifecycle command at a time
 *   RUN/containers/ID/                 attach.sock, manual-stop marker
 *   ROOT/containers.lock               flock: names are unique
 *
 * RUN is /run/isola for the default root and ROOT/run otherwise, and
 * isola-runtime keeps its state in RUN/runtime. */
#ifndef ISOLA_ENGINE_CONTAINER_CTR_H
#define ISOLA_ENGINE_CONTAINER_CTR_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

#define CTR_ID_LEN 64

struct ctr {
  char id[CTR_ID_LEN + 1];
  char *dir, *rundir;
  json_t *rec;   /* container.json */
  json_t *state; /* state.json */
  int lock_fd;
};

/* Paths under the roots; malloc'd. */
char *engine_path(const char *rel);
char *engine_run_path(const char *rel);
const char *engine_run_root(void);

/* Sibling binaries: $ISOLA_RUNTIME / $ISOLA_VMM / $ISOLA_INIT, else next to
 * this executable, in the build tree or in ../libexec/isola; malloc'd. */
char *engine_helper(const char *name);

/* containers-auth.json: --authfile, else $REGISTRY_AUTH_FILE, else
 * ROOT/auth.json; free() it. */
char *engine_auth_file(const char *flag);

/* A fresh random ID and, without a name, a generated one ("isola_quirky_N"). */
void ctr_new_id(char id[CTR_ID_LEN + 1]);

/* Lookup by name, full ID or unique ID prefix. */
int ctr_open(const char *what, struct ctr *c, err_t *err);
int ctr_open_id(const char *id, struct ctr *c, err_t *err);
void ctr_close(struct ctr *c);
/* IDs of every container, oldest first; free each and the array. */
int ctr_list(char ***ids, size_t *n, err_t *err);

/* Lifecycle lock (flock on ROOT/containers/ID/lock). */
int ctr_lock(struct ctr *c, err_t *err);
void ctr_unlock(struct ctr *c);
/* ROOT/containers.lock, exclusive: around name checks and removals. */
int ctr_names_lock(err_t *err);

int ctr_reload_state(struct ctr *c, err_t *err);
int ctr_save_state(const struct ctr *c, err_t *err);
const char *ctr_name(const struct ctr *c);

/* The status users see, after checking that the monitor recorded as
 * running the container still lives: created, running, paused,
 * restarting, exited, stopping.  A container whose monitor died is
 * `exited` when its process is gone too, else still `running`. */
const char *ctr_status(struct ctr *c);
/* PID of the live monitor, 0 when none. */
pid_t ctr_monitor_pid(const struct ctr *c);
bool ctr_is_running(struct ctr *c);

/* Made with --vm: runs in a microVM. */
bool ctr_is_vm(const struct ctr *c);

/* Run isola-runtime with `args` (NULL-terminated, after --root); its
 * stdout/stderr into *out (may be NULL), exit status returned. */
int ctr_runtime(const char *const *args, char **out, err_t *err);

/* Mount the container's root (the image's layers under its upper
 * directory) at ROOT/containers/ID/rootfs unless it is mounted; *mounted
 * says whether this call did. */
int ctr_mount_rootfs(struct ctr *c, bool *mounted, err_t *err);

/* An event line in ROOT/events.log. */
void engine_event(const char *type, const char *action, const char *id, json_t *attrs);

/* "4 seconds", "2 minutes"... for ps. */
void human_duration(double secs, char *out, size_t n);

#endif

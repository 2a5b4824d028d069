/* --systemd: a container whose PID 1 is an init system gets what systemd
 * expects of a container manager (systemd.io/CONTAINER_INTERFACE), as
 * Podman's systemd mode gives it. */
#ifndef ISOLA_ENGINE_CONTAINER_SYSTEMD_H
#define ISOLA_ENGINE_CONTAINER_SYSTEMD_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "engine/container/ctr.h"

/* --systemd=always, or =true with an init as the command (`args`, before
 * --init puts isola-init in front). */
bool systemd_wanted(const json_t *hc, const json_t *args);

/* At create, for the record `rec` running `cmd`: systemd writes its boot
 * and shutdown messages (and every unit's status) to /dev/console only,
 * never to stdout, and a container has a /dev/console only with a
 * terminal: systemd mode gives it one (as `-t`), so that `isola logs`
 * shows them. */
void systemd_record(json_t *rec, const json_t *cmd);

/* Add to `spec` (its env and cgroupsPath already set): tmpfs on /run,
 * /run/lock, /tmp and /var/log/journal; a writable cgroup of its own in a
 * cgroup namespace; $container and $container_uuid; and write the
 * container's machine ID into the root at `rootfd`. */
int systemd_bundle(const struct ctr *c, int rootfd, json_t *spec, err_t *err);

/* After the seccomp profile is made: systemd reads cgroup IDs and mount
 * IDs with name_to_handle_at(2), which Docker's profile keeps for
 * CAP_SYS_ADMIN; allow it (Podman's profile does for every container; the
 * dangerous half, open_by_handle_at, stays refused).  A profile the user
 * chose with --security-opt seccomp=... is left as it is. */
void systemd_seccomp(json_t *spec, const json_t *hc);

#endif

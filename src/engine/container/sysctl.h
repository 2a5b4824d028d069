/* --sysctl KEY=VALUE for `run` and `create`, into HostConfig.Sysctls
 * ({"net.ipv4.ip_forward": "1"}, Docker's field).  Only sysctls that the
 * container's own namespaces scope are accepted, as Docker and Podman do:
 * net.* with a network namespace of its own (not --network host or
 * container:NAME); the IPC ones (kernel.msg*, kernel.sem, kernel.shm*,
 * fs.mqueue.*); kernel.domainname.  Anything else would change the host.
 * They override the engine's defaults (net.ipv4.ping_group_range). */
#ifndef ISOLA_ENGINE_CONTAINER_SYSCTL_H
#define ISOLA_ENGINE_CONTAINER_SYSCTL_H

#include <jansson.h>

#include "common/err.h"

/* One KEY=VALUE into `sysctls`; a bad name or a host-wide sysctl is an
 * error that names it. */
int sysctl_parse(const char *arg, json_t *sysctls, err_t *err);
/* The whole HostConfig: net.* only with a private network namespace, and
 * none with --vm (the guest has its own kernel). */
int sysctl_check(const json_t *hc, err_t *err);

#endif

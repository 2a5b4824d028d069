/* Joining and creating namespaces (config-linux.md "Namespaces"). */
#ifndef ISOLA_RUNTIME_CONTAINER_NAMESPACES_H
#define ISOLA_RUNTIME_CONTAINER_NAMESPACES_H

#include "common/err.h"
#include "runtime/spec/spec.h"

/* Namespace flags the config asks to create (no path). */
int ns_new_flags(const struct spec_linux *l);

/* Open every namespace the config joins by path, then setns into them:
 * user first, mount last. */
int ns_join_paths(const struct spec_linux *l, err_t *err);

/* Join the namespaces of a running process that differ from ours (exec). */
int ns_join_process(pid_t pid, err_t *err);

/* Write this process's time namespace offsets (after unshare, before any
 * child is made). */
int ns_write_time_offsets(const struct spec_linux *l, err_t *err);

/* Write uid_map/gid_map for `pid` (deny setgroups first, as the kernel
 * requires for an unprivileged writer). */
int ns_write_id_maps(pid_t pid, const struct spec_linux *l, err_t *err);

#endif

/* The OCI bundle of a container: config.json made from the image's config,
 * the container record (flags of `isola run`) and the mounted root. */
#ifndef ISOLA_ENGINE_CONTAINER_BUNDLE_H
#define ISOLA_ENGINE_CONTAINER_BUNDLE_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"
#include "engine/container/ctr.h"

/* The image config's "config" object (Entrypoint, Cmd, Env…), a new
 * reference, from ROOT/containers/ID/image-config.json. */
json_t *bundle_image_config(const struct ctr *c);

/* The command the container runs: Entrypoint + Cmd, from the record and
 * else the image (Docker's rules); a new array. */
json_t *bundle_command(const json_t *rec, const json_t *img);

/* Write ROOT/containers/ID/bundle/config.json for the root mounted at
 * `rootfs`; volumes are created (and filled from the image) as needed, the
 * record's anonymous volumes named.  Errors name the flag at fault. */
int bundle_write(struct ctr *c, const char *rootfs, err_t *err);

/* "name|uid[:group|gid]" inside the root: uid, gid, supplementary gids
 * (a JSON array), home. */
int bundle_resolve_user(int rootfd, const char *spec, uid_t *uid, gid_t *gid, json_t **gids,
                        char **home, err_t *err);

/* The process environment: PATH, the image's, HOSTNAME, the record's. */
json_t *bundle_env(const json_t *rec, const json_t *img, const char *hostname);

json_t *seccomp_default_profile(json_t *caps);
json_t *seccomp_from_profile(json_t *profile, json_t *caps);

/* Where --init puts isola-init inside the container. */
#define BUNDLE_INIT_PATH "/dev/init"

#endif

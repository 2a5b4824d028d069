/* Registry credentials in containers-auth.json format (what Podman, Buildah
 * and skopeo read): {"auths": {"HOST": {"auth": base64("user:password")}}}. */
#ifndef ISOLA_IMAGE_AUTHFILE_H
#define ISOLA_IMAGE_AUTHFILE_H

#include "common/err.h"

/* "user:password" for `host`, free() it; NULL when the file or host is absent. */
char *authfile_lookup(const char *path, const char *host);
/* Add or replace `host`'s entry (the file is written atomically, 0600). */
int authfile_set(const char *path, const char *host, const char *userpass, err_t *err);
/* Remove `host`'s entry; an error when there is none. */
int authfile_remove(const char *path, const char *host, err_t *err);

/* base64 of a string (the Basic credentials form); free() it. */
char *authfile_base64(const char *s);

#endif

/* Image references as Docker and Podman read them:
 *   [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST]
 * The first component is a registry when it has a `.` or `:` or is
 * `localhost`; otherwise the registry is docker.io and one-component
 * repositories get `library/` (distribution/reference normalize.go). */
#ifndef ISOLA_IMAGE_REFERENCE_H
#define ISOLA_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "common/err.h"
#include "image/digest.h"

struct reference {
  char *registry;   /* "docker.io", "127.0.0.1:5000" */
  char *repository; /* "library/busybox" */
  char *tag;        /* "latest" unless a digest was given alone; NULL then */
  bool has_digest;
  struct digest digest;
};

int reference_parse(const char *s, struct reference *r, err_t *err);
void reference_release(struct reference *r);

/* "registry/repository:tag" (or "@sha256:…" without a tag); free() it. */
char *reference_name(const struct reference *r);

#endif

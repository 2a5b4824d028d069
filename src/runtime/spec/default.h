/* The default OCI configuration (`isola-runtime spec`). */
#ifndef ISOLA_RUNTIME_SPEC_DEFAULT_H
#define ISOLA_RUNTIME_SPEC_DEFAULT_H

#include <stdbool.h>

#include <jansson.h>

/* A new reference; `rootless` adds a user namespace mapping the caller. */
json_t *spec_default(bool rootless);

/* Podman's default capability set, NULL-terminated. */
extern const char *const spec_default_caps[];

#endif

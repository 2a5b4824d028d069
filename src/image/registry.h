/* An OCI distribution v2 client on libcurl: manifests and blobs, with
 * anonymous, basic and bearer-token auth (the WWW-Authenticate challenge of
 * distribution's token spec), resumable blob downloads (Range) and plain
 * HTTP for --tls-verify=false.  One struct per thread. */
#ifndef ISOLA_IMAGE_REGISTRY_H
#define ISOLA_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/manifest.h"
#include "image/store.h"

struct registry {
  char *host;       /* as named: "127.0.0.1:5000", "docker.io" */
  char *endpoint;   /* "https://registry-1.docker.io" */
  char *repository; /* "library/busybox" */
  bool tls_verify;
  char *basic;      /* "user:password" or NULL */
  char *token;      /* bearer token from the last challenge */
  bool push;        /* ask for push scope */
  uint64_t *received; /* when set, blob bytes are added here (atomically) */
};

/* `auth_file` in containers-auth.json format (may be absent). */
int registry_open(struct registry *r, const char *host, const char *repository, bool tls_verify,
                  const char *auth_file, err_t *err);
int registry_clone(const struct registry *src, struct registry *dst, err_t *err);
void registry_release(struct registry *r);

/* GET /v2/<repo>/manifests/<ref>; *body is NUL-terminated, free() it. */
int registry_get_manifest(struct registry *r, const char *ref, char **body, size_t *len,
                          char **content_type, err_t *err);
/* GET the blob into `in`, from in->size on (Range) when a partial exists. */
int registry_get_blob(struct registry *r, const struct descriptor *d, struct ingest *in,
                      err_t *err);

/* Push: HEAD to skip blobs the registry has, cross-repo mount when `from`
 * names another repository on the same registry, else POST + PUT. */
/* `chunk` > 0 uploads in PATCH chunks of that many bytes (distribution's
 * "chunked upload"), else in one PUT.  *how says what happened: "exists",
 * "mounted" or "uploaded". */
int registry_push_blob(struct registry *r, const char *path, const struct digest *d,
                       uint64_t size, const char *from, uint64_t chunk, const char **how,
                       err_t *err);
int registry_put_manifest(struct registry *r, const char *ref, const char *body, size_t len,
                          const char *media_type, err_t *err);

/* GET /v2/ with the credentials: 0 when the registry lets us in. */
int registry_ping(struct registry *r, err_t *err);

#endif

/* Image operations over the store, the registry client and the layer
 * unpacker: what `isola pull`, `images`, `rmi`, `tag`, `inspect`,
 * `import`, `push` and `image prune` do. */
#ifndef ISOLA_IMAGE_IMAGE_H
#define ISOLA_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "common/err.h"
#include "image/config.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/store.h"

struct pull_opts {
  const char *platform;  /* "linux/amd64" by default */
  bool tls_verify;
  const char *auth_file; /* containers-auth.json */
  int jobs;              /* parallel layer downloads */
  FILE *progress;        /* NULL: quiet */
  bool live;             /* progress is a terminal: redraw a status line */
  bool json;             /* the command prints a JSON summary */
  uint64_t chunk;        /* push: chunked uploads of this size (0: one PUT) */
  const char *mirrors;   /* registries.json: {"mirrors": {"HOST": ["MIRROR", …]},
                          * "insecure": ["HOST", …]}; may be absent */
};

/* What a pull did, for `--json` and the summary line. */
struct pull_result {
  struct digest id, manifest;
  char *name;
  size_t layers, layers_fetched;
  uint64_t bytes_fetched;
  double seconds;
};
void pull_result_release(struct pull_result *r);

/* Pull `ref` and name it; *id gets the image ID (the config digest). */
int image_pull(struct store *st, const char *ref, const struct pull_opts *o,
               struct pull_result *res, err_t *err);

/* A loaded image: its name(s) aside, what the store holds for it. */
struct image {
  struct digest manifest_digest, id; /* id = config digest */
  struct manifest manifest;
  struct image_config config;
  uint64_t size; /* sum of layer blob sizes */
};

/* `what` is a name (normalized like pull), an ID or a unique ID prefix. */
int image_load(struct store *st, const char *what, struct image *img, char **name, err_t *err);
/* The image whose manifest is `md` (a name's target). */
int image_load_manifest(struct store *st, const struct digest *md, struct image *img, err_t *err);
void image_release(struct image *img);

/* Names pointing at the image with manifest `m`; json array of strings. */
json_t *image_names_of(json_t *names, const struct digest *m);

/* Where `image mount` puts an image: STORE/mounts/MANIFEST-HEX.  While it
 * exists the image cannot be removed and gc keeps its content. */
char *image_mount_point(const struct store *st, const struct digest *manifest);

int image_tag(struct store *st, const char *source, const char *target, err_t *err);
/* Remove a name, or every name of an ID; the content goes at the next gc.
 * A mounted image is refused. */
int image_remove(struct store *st, const char *what, bool force, err_t *err);
/* Remove blobs and unpacked layers no name reaches; counts what went. */
int image_gc(struct store *st, unsigned *blobs, unsigned *layers, err_t *err);

/* One step of an image's history, as `import` and `commit` record it;
 * any member may be NULL. */
struct image_step {
  const char *created_by; /* the command that made the step */
  const char *comment;    /* --message */
  const char *author;     /* --author: also the new image's author */
};

/* A root filesystem tarball (plain, gzip or zstd) as a one-layer image
 * named `name`, with `exec` (NULL: none) as its execution config
 * (image_config.exec) and `message` as its history entry's comment. */
int image_import(struct store *st, const char *tarball, json_t *exec, const char *message, const char *name,
                 struct digest *id, err_t *err);

/* A new image: `parent`'s layers plus `tarball` as one more (NULL: no
 * filesystem change, a config-only step), `exec` as its execution config,
 * `parent`'s history plus `step`; named `name`.  *id gets its ID. */
int image_commit(struct store *st, const struct image *parent, const char *tarball, json_t *exec,
                 const struct image_step *step, const char *name, struct digest *id, err_t *err);

int image_push(struct store *st, const char *what, const char *dest, const struct pull_opts *o,
               err_t *err);

/* Store an OCI manifest for `config` and `layers` (already in the store)
 * and unpack the layers; *md gets the manifest digest. */
int image_commit_manifest(struct store *st, const struct digest *config, uint64_t config_size,
                          const struct descriptor *layers, size_t n, struct digest *md, err_t *err);

/* Unpack the image's layers that are not unpacked yet. */
int image_unpack_layers(struct store *st, const struct manifest *m, err_t *err);

/* Normalized name for a reference string ("busybox" -> "docker.io/library/busybox:latest"). */
char *image_normalize(const char *ref, err_t *err);

#endif

/* The content-addressable image store under STATE_ROOT/images:
 *   blobs/sha256/HEX   verified blobs (manifests, configs, layers)
 *   ingest/HEX         partial downloads, hashed again on resume
 *   layers/HEX/        a layer blob unpacked, keyed by the blob's digest
 *   mounts/HEX/        where `isola image mount` shows manifest HEX
 *   names.json         {"names": {"registry/repo:tag": "sha256:…"}}
 *   lock               flock: shared for readers and pulls, exclusive to
 *                      change names or collect garbage
 * A blob becomes visible only by rename() after its digest and size were
 * checked, so a crash mid-pull never leaves a half blob under blobs/. */
#ifndef ISOLA_IMAGE_STORE_H
#define ISOLA_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "image/digest.h"

struct store {
  char *dir; /* STATE_ROOT/images */
  int lock_fd;
};

int store_open(struct store *st, const char *state_root, err_t *err);
void store_close(struct store *st);

int store_lock(struct store *st, bool exclusive, err_t *err);
void store_unlock(struct store *st);

/* malloc'd paths */
char *store_blob_path(const struct store *st, const struct digest *d);
char *store_layer_path(const struct store *st, const struct digest *d);
bool store_has_blob(const struct store *st, const struct digest *d);

/* Streaming a blob in: bytes are hashed as they are written; commit checks
 * digest and size, fsyncs and renames into blobs/.  A partial file is kept
 * by ingest_close() so that the next pull resumes at ingest->size. */
struct ingest {
  int fd;
  char *partial, *final;
  struct hasher *h;
  uint64_t size, want_size;
  struct digest want;
};
int ingest_open(struct store *st, const struct digest *want, uint64_t want_size,
                struct ingest *in, err_t *err);
int ingest_write(struct ingest *in, const void *data, size_t len, err_t *err);
int ingest_commit(struct ingest *in, err_t *err);
/* Drop what was written so far (the source restarted from byte 0). */
int ingest_reset(struct ingest *in, err_t *err);
void ingest_close(struct ingest *in);   /* keep the partial file */
void ingest_discard(struct ingest *in); /* remove it */

/* Whole blobs from memory (manifests, configs). */
int store_put(struct store *st, const void *data, size_t len, struct digest *out, err_t *err);
/* A file as a blob: checked against `want` when given (OCI layouts name
 * blobs by digest), else named by its content. */
int store_put_file(struct store *st, const char *path, const struct digest *want,
                   struct digest *got, uint64_t *size, err_t *err);
/* Read a blob back, checking its digest again; at most `max` bytes. */
int store_get(const struct store *st, const struct digest *d, char **data, size_t *len,
              size_t max, err_t *err);

/* The name table.  Readers may look without the lock; writers hold it
 * exclusively. */
int store_names(const struct store *st, json_t **names, err_t *err);
int store_set_name(struct store *st, const char *name, const struct digest *d, err_t *err);
int store_remove_name(struct store *st, const char *name, err_t *err);

#endif

/* The image config (OCI image-spec config.md; Docker's image JSON is the
 * same document): parsed once into a typed struct, written back by one
 * writer.  Nothing outside config.c looks its members up by name. */
#ifndef ISOLA_IMAGE_CONFIG_H
#define ISOLA_IMAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "image/digest.h"

/* One step of `history` (config.md "history"): what made a layer, or a
 * config-only step (empty_layer) that made none. */
struct image_history {
  char *created;    /* RFC 3339 */
  char *created_by; /* the command that made the step */
  char *author;
  char *comment;
  bool empty_layer;
};

struct image_config {
  char *created; /* RFC 3339 */
  char *author;
  char *arch, *os, *os_version, *variant;
  char **os_features; /* NULL-terminated; NULL when absent */
  /* `config`: the execution parameters (Cmd, Entrypoint, Env, WorkingDir,
   * User, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck…), kept as
   * the object the engine writes into each container's image-config.json.
   * NULL when absent. */
  json_t *exec;
  struct digest *diff_ids; /* rootfs.diff_ids, first layer first */
  size_t ndiff_ids;
  struct image_history *history;
  size_t nhistory;
};

int image_config_parse(const char *data, size_t len, struct image_config *c, err_t *err);
/* Compact JSON with sorted keys (so equal configs hash equal); *out is
 * NUL-terminated and the caller frees it. */
int image_config_write(const struct image_config *c, char **out, err_t *err);
int image_config_copy(const struct image_config *src, struct image_config *dst, err_t *err);
void image_config_release(struct image_config *c);

/* How many history entries describe a layer (are not empty_layer).  Builders
 * (Buildah, podman build) refuse a base whose count differs from its layers'. */
size_t image_config_history_layers(const struct image_config *c);

/* Give every layer a history entry: an image from before isola wrote history
 * (or from a tool that wrote none) has fewer entries than layers.  The
 * entries it lacks are taken to be of its oldest layers, and are added
 * before the ones it has, which are kept as they are. */
int image_config_fill_history(struct image_config *c, err_t *err);

/* Add one step: a layer with `diff_id`, or (diff_id NULL) a config-only
 * step, marked empty_layer.  Strings are copied; any may be NULL. */
int image_config_add_step(struct image_config *c, const struct digest *diff_id,
                          const struct image_history *h, err_t *err);

/* What Docker and Podman write as `created_by` for a layer they added from
 * a tarball: "/bin/sh -c #(nop) ADD file:HEX in /". */
char *image_history_add_file(const struct digest *diff_id);

#endif

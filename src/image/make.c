/* Images made here rather than pulled: `isola import` (a root filesystem
 * tarball) and `isola commit` (a container's changes over its image), each
 * with the config and history builders expect (image/config.h). */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "image/layer.h"

/* Store `c` as the config of an image made of `base`'s n layers plus, when
 * `tarball` is given, that tarball as one more (its blob as it is: plain,
 * gzip or zstd, of media type `mt`); name it `name`. */
static int store_image(struct store *st, const struct image_config *c, const struct descriptor *base, size_t n,
                       const char *tarball, const char *mt, const char *name, struct digest *id, err_t *err)
{
  _cleanup_free_ char *cfg = NULL;
  struct descriptor *layers = calloc(n + 1, sizeof(*layers));
  if (!layers)
    return err_sys(err, "cannot store the image");
  for (size_t i = 0; i < n; i++)
    layers[i] = base[i];
  struct digest cd, md;
  int r = image_config_write(c, &cfg, err);
  if (r == 0)
    r = store_lock(st, false, err);
  if (r == 0) {
    if (tarball) {
      layers[n].media_type = (char *)mt;
      r = store_put_file(st, tarball, NULL, &layers[n].digest, &layers[n].size, err);
    }
    if (r == 0)
      r = store_put(st, cfg, strlen(cfg), &cd, err);
    if (r == 0)
      r = image_commit_manifest(st, &cd, strlen(cfg), layers, n + (tarball != NULL), &md, err);
    store_unlock(st);
  }
  free(layers);
  if (r == 0 && (r = store_lock(st, true, err)) == 0) {
    r = store_set_name(st, name, &md, err);
    store_unlock(st);
    *id = cd;
  }
  return r;
}

static int set_str(char **field, const char *v, err_t *err)
{
  free(*field);
  *field = v ? strdup(v) : NULL;
  return v && !*field ? err_sys(err, "cannot build the image config") : 0;
}

int image_import(struct store *st, const char *tarball, json_t *exec, const char *message, const char *name,
                 struct digest *id, err_t *err)
{
  _cleanup_free_ char *norm = image_normalize(name, err);
  if (!norm)
    return -1;
  /* The layer's diff_id is the digest of the uncompressed tar. */
  struct digest diff_id;
  const char *mt = NULL;
  if (layer_diff_id(tarball, &diff_id, &mt, err) < 0)
    return err_context(err, "importing `%s`", tarball);
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  /* One history entry for the one layer, as Podman writes it (and Docker:
   * the message as its comment); --change only sets config. */
  _cleanup_free_ char *added = image_history_add_file(&diff_id);
  struct image_history step = {.created = now, .created_by = added, .comment = (char *)message};
  struct image_config c = {0};
  int r = added ? 0 : err_sys(err, "cannot build the image config");
  if (r == 0)
    r = set_str(&c.created, now, err);
  if (r == 0)
    r = set_str(&c.arch, "amd64", err);
  if (r == 0)
    r = set_str(&c.os, "linux", err);
  if (r == 0) {
    c.exec = exec ? json_incref(exec) : json_object();
    r = image_config_add_step(&c, &diff_id, &step, err);
  }
  if (r == 0)
    r = store_image(st, &c, NULL, 0, tarball, mt, norm, id, err);
  image_config_release(&c);
  return r < 0 ? err_context(err, "importing `%s`", tarball) : 0;
}

int image_commit(struct store *st, const struct image *parent, const char *tarball, json_t *exec,
                 const struct image_step *step, const char *name, struct digest *id, err_t *err)
{
  _cleanup_free_ char *norm = image_normalize(name, err);
  if (!norm)
    return -1;
  struct digest diff_id;
  const char *mt = NULL;
  if (tarball && layer_diff_id(tarball, &diff_id, &mt, err) < 0)
    return err_context(err, "the new layer");
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  /* The parent's history stays as it is, completed where it lacks entries
   * for layers (so that builders accept the result); this commit is one
   * more step: a layer, or with no filesystem change a config-only step,
   * as Docker's commit writes. */
  struct image_history h = {.created = now,
                            .created_by = (char *)step->created_by,
                            .author = (char *)step->author,
                            .comment = (char *)step->comment};
  struct image_config c;
  if (image_config_copy(&parent->config, &c, err) < 0)
    return err_context(err, "the parent image's config");
  int r = set_str(&c.created, now, err);
  if (r == 0)
    r = set_str(&c.author, step->author, err);
  if (r == 0) {
    json_decref(c.exec);
    c.exec = json_incref(exec);
    r = image_config_fill_history(&c, err);
  }
  if (r == 0)
    r = image_config_add_step(&c, tarball ? &diff_id : NULL, &h, err);
  if (r == 0)
    r = store_image(st, &c, parent->manifest.layers, parent->manifest.nlayers, tarball, mt, norm, id, err);
  image_config_release(&c);
  return r;
}

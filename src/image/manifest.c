#include "image/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/json.h"

bool media_type_is_layer(const char *mt)
{
  return mt && (!strcmp(mt, MT_OCI_LAYER) || !strcmp(mt, MT_OCI_LAYER_GZIP) ||
                !strcmp(mt, MT_OCI_LAYER_ZSTD) || !strcmp(mt, MT_DOCKER_LAYER_GZIP));
}

bool media_type_is_index(const char *mt)
{
  return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

static char *dup_str(json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? strdup(s) : NULL;
}

static int parse_descriptor(json_t *o, const char *where, struct descriptor *d, err_t *err)
{
  memset(d, 0, sizeof(*d));
  if (!json_is_object(o))
    return err_make(err, EINVAL, "%s is not an object", where);
  json_t *dg = json_object_get(o, "digest"), *sz = json_object_get(o, "size");
  if (!json_is_string(dg))
    return err_make(err, EINVAL, "%s.digest is missing", where);
  if (digest_parse(json_string_value(dg), &d->digest, err) < 0)
    return err_context(err, "%s.digest", where);
  if (!json_is_integer(sz) || json_integer_value(sz) < 0)
    return err_make(err, EINVAL, "%s.size must be a non-negative integer", where);
  d->size = (uint64_t)json_integer_value(sz);
  d->media_type = dup_str(o, "mediaType");
  json_t *p = json_object_get(o, "platform");
  if (json_is_object(p)) {
    d->os = dup_str(p, "os");
    d->arch = dup_str(p, "architecture");
    d->variant = dup_str(p, "variant");
  }
  return 0;
}

static void descriptor_release(struct descriptor *d)
{
  free(d->media_type);
  free(d->os);
  free(d->arch);
  free(d->variant);
}

static int parse_list(json_t *arr, const char *key, struct descriptor **out, size_t *n,
                      err_t *err)
{
  if (!json_is_array(arr))
    return err_make(err, EINVAL, "manifest field `%s` must be an array", key);
  size_t count = json_array_size(arr);
  if (count > 4096)
    return err_make(err, EINVAL, "manifest field `%s` has %zu entries (4096 at most)", key, count);
  *out = calloc(count ? count : 1, sizeof(**out));
  if (!*out)
    return err_sys(err, "cannot parse `%s`", key);
  for (size_t i = 0; i < count; i++) {
    char where[64];
    snprintf(where, sizeof(where), "%s[%zu]", key, i);
    if (parse_descriptor(json_array_get(arr, i), where, &(*out)[i], err) < 0) {
      *n = i + 1;
      return -1;
    }
  }
  *n = count;
  return 0;
}

int manifest_parse(const char *data, size_t len, const char *content_type, struct manifest *m,
                   err_t *err)
{
  memset(m, 0, sizeof(*m));
  json_t *doc = NULL;
  if (json_load_text(data, len, "manifest", &doc, err) < 0)
    return -1;
  int r = -1;
  json_t *sv = json_object_get(doc, "schemaVersion");
  if (!json_is_object(doc)) {
    err_make(err, EINVAL, "manifest is not a JSON object");
    goto out;
  }
  if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
    err_make(err, EINVAL, "manifest schemaVersion must be 2 (Docker schema 1 is not supported)");
    goto out;
  }
  m->media_type = dup_str(doc, "mediaType");
  if (!m->media_type && content_type)
    m->media_type = strdup(content_type);
  bool index = media_type_is_index(m->media_type) ||
               (!m->media_type && json_object_get(doc, "manifests"));
  if (index) {
    m->kind = MANIFEST_INDEX;
    r = parse_list(json_object_get(doc, "manifests"), "manifests", &m->manifests,
                   &m->nmanifests, err);
  } else {
    m->kind = MANIFEST_IMAGE;
    if (m->media_type && strcmp(m->media_type, MT_OCI_MANIFEST) &&
        strcmp(m->media_type, MT_DOCKER_MANIFEST)) {
      err_make(err, EINVAL, "manifest media type `%s` is not an image manifest or index",
               m->media_type);
      goto out;
    }
    r = parse_descriptor(json_object_get(doc, "config"), "config", &m->config, err);
    if (r == 0)
      r = parse_list(json_object_get(doc, "layers"), "layers", &m->layers, &m->nlayers, err);
    for (size_t i = 0; r == 0 && i < m->nlayers; i++)
      if (m->layers[i].media_type && !media_type_is_layer(m->layers[i].media_type))
        r = err_make(err, ENOTSUP, "layers[%zu] has media type `%s`, which isola cannot unpack", i,
                     m->layers[i].media_type);
  }
out:
  json_decref(doc);
  if (r < 0)
    manifest_release(m);
  return r;
}

void manifest_release(struct manifest *m)
{
  descriptor_release(&m->config);
  for (size_t i = 0; i < m->nlayers; i++)
    descriptor_release(&m->layers[i]);
  for (size_t i = 0; i < m->nmanifests; i++)
    descriptor_release(&m->manifests[i]);
  free(m->layers);
  free(m->manifests);
  free(m->media_type);
  memset(m, 0, sizeof(*m));
}

int manifest_pick_platform(const struct manifest *index, const char *platform,
                           const struct descriptor **out, err_t *err)
{
  char os[32] = "linux", arch[32] = "amd64", variant[32] = "";
  if (platform && sscanf(platform, "%31[^/]/%31[^/]/%31s", os, arch, variant) < 2)
    return err_make(err, EINVAL, "--platform `%s` is not OS/ARCH[/VARIANT]", platform);
  for (size_t i = 0; i < index->nmanifests; i++) {
    const struct descriptor *d = &index->manifests[i];
    if (d->os && d->arch && !strcmp(d->os, os) && !strcmp(d->arch, arch) &&
        (!variant[0] || (d->variant && !strcmp(d->variant, variant)))) {
      *out = d;
      return 0;
    }
  }
  char offered[512] = "";
  size_t at = 0;
  for (size_t i = 0; i < index->nmanifests && at < sizeof(offered) - 64; i++) {
    const struct descriptor *d = &index->manifests[i];
    at += (size_t)snprintf(offered + at, sizeof(offered) - at, "%s%s/%s%s%s", i ? ", " : "",
                           d->os ? d->os : "?", d->arch ? d->arch : "?", d->variant ? "/" : "",
                           d->variant ? d->variant : "");
  }
  return err_make(err, ENOENT, "the image has no %s/%s%s%s variant (it offers: %s)", os, arch,
                  variant[0] ? "/" : "", variant, offered[0] ? offered : "nothing");
}

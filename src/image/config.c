/* The image config's one reader and one writer (config.h). */
#include "image/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

/* A string member; absent and null both leave *out NULL (Go's encoders
 * write null for unset pointers). */
static int get_str(const json_t *o, const char *where, const char *key, char **out, err_t *err)
{
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return err_make(err, EINVAL, "image config `%s%s%s` must be a string, not %s", where, *where ? "." : "",
                    key, json_type_name(v));
  *out = strdup(json_string_value(v));
  return *out ? 0 : err_sys(err, "cannot parse the image config");
}

static int parse_history(json_t *arr, struct image_config *c, err_t *err)
{
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return err_make(err, EINVAL, "image config `history` must be an array, not %s", json_type_name(arr));
  size_t n = json_array_size(arr);
  c->history = calloc(n ? n : 1, sizeof(*c->history));
  if (!c->history)
    return err_sys(err, "cannot parse the image config");
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(arr, i);
    char where[48];
    snprintf(where, sizeof where, "history[%zu]", i);
    if (!json_is_object(e))
      return err_make(err, EINVAL, "image config `%s` must be an object, not %s", where, json_type_name(e));
    struct image_history *h = &c->history[i];
    c->nhistory = i + 1;
    json_t *empty = json_object_get(e, "empty_layer");
    if (empty && !json_is_null(empty) && !json_is_boolean(empty))
      return err_make(err, EINVAL, "image config `%s.empty_layer` must be true or false, not %s", where,
                      json_type_name(empty));
    h->empty_layer = json_is_true(empty);
    if (get_str(e, where, "created", &h->created, err) < 0 ||
        get_str(e, where, "created_by", &h->created_by, err) < 0 ||
        get_str(e, where, "author", &h->author, err) < 0 || get_str(e, where, "comment", &h->comment, err) < 0)
      return -1;
  }
  return 0;
}

static int parse_features(json_t *arr, struct image_config *c, err_t *err)
{
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return err_make(err, EINVAL, "image config `os.features` must be an array, not %s", json_type_name(arr));
  size_t n = json_array_size(arr);
  c->os_features = calloc(n + 1, sizeof(*c->os_features));
  if (!c->os_features)
    return err_sys(err, "cannot parse the image config");
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    if (!s)
      return err_make(err, EINVAL, "image config `os.features[%zu]` must be a string", i);
    if (!(c->os_features[i] = strdup(s)))
      return err_sys(err, "cannot parse the image config");
  }
  return 0;
}

static int parse_doc(json_t *doc, struct image_config *c, err_t *err)
{
  if (!json_is_object(doc))
    return err_make(err, EINVAL, "image config is not a JSON object");
  if (get_str(doc, "", "created", &c->created, err) < 0 || get_str(doc, "", "author", &c->author, err) < 0 ||
      get_str(doc, "", "architecture", &c->arch, err) < 0 || get_str(doc, "", "os", &c->os, err) < 0 ||
      get_str(doc, "", "os.version", &c->os_version, err) < 0 ||
      get_str(doc, "", "variant", &c->variant, err) < 0 ||
      parse_features(json_object_get(doc, "os.features"), c, err) < 0)
    return -1;
  json_t *exec = json_object_get(doc, "config");
  if (exec && !json_is_null(exec) && !json_is_object(exec))
    return err_make(err, EINVAL, "image config `config` must be an object, not %s", json_type_name(exec));
  if (json_is_object(exec))
    c->exec = json_incref(exec);
  json_t *ids = json_object_get(json_object_get(doc, "rootfs"), "diff_ids");
  if (!json_is_array(ids))
    return err_make(err, EINVAL, "image config has no rootfs.diff_ids array");
  c->ndiff_ids = json_array_size(ids);
  c->diff_ids = calloc(c->ndiff_ids ? c->ndiff_ids : 1, sizeof(*c->diff_ids));
  if (!c->diff_ids)
    return err_sys(err, "cannot parse the image config");
  for (size_t i = 0; i < c->ndiff_ids; i++)
    if (digest_parse(json_string_value(json_array_get(ids, i)), &c->diff_ids[i], err) < 0)
      return err_context(err, "image config rootfs.diff_ids[%zu]", i);
  return parse_history(json_object_get(doc, "history"), c, err);
}

int image_config_parse(const char *data, size_t len, struct image_config *c, err_t *err)
{
  memset(c, 0, sizeof(*c));
  json_t *doc = NULL;
  if (json_load_text(data, len, "image config", &doc, err) < 0)
    return -1;
  int r = parse_doc(doc, c, err);
  json_decref(doc);
  if (r < 0)
    image_config_release(c);
  return r;
}

/* Members are set only when they have a value: the spec's fields are all
 * optional but rootfs, and tools read an absent field as unset. */
static bool put_str(json_t *o, const char *key, const char *v)
{
  return !v || json_object_set_new(o, key, json_string(v)) == 0;
}

static json_t *history_json(const struct image_history *h)
{
  json_t *o = json_object();
  if (!o || !put_str(o, "created", h->created) || !put_str(o, "created_by", h->created_by) ||
      !put_str(o, "author", h->author) || !put_str(o, "comment", h->comment) ||
      (h->empty_layer && json_object_set_new(o, "empty_layer", json_true()) < 0)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *config_json(const struct image_config *c)
{
  json_t *o = json_object(), *ids = json_array();
  bool ok = o && ids && put_str(o, "created", c->created) && put_str(o, "author", c->author) &&
            put_str(o, "architecture", c->arch) && put_str(o, "os", c->os) &&
            put_str(o, "os.version", c->os_version) && put_str(o, "variant", c->variant);
  if (ok && c->os_features) {
    json_t *f = json_array();
    for (char **p = c->os_features; f && *p; p++)
      if (json_array_append_new(f, json_string(*p)) < 0) {
        json_decref(f);
        f = NULL;
      }
    ok = f && json_object_set_new(o, "os.features", f) == 0;
  }
  if (ok && c->exec)
    ok = json_object_set(o, "config", c->exec) == 0;
  for (size_t i = 0; ok && i < c->ndiff_ids; i++) {
    char d[DIGEST_STR_LEN + 1];
    digest_format(&c->diff_ids[i], d);
    ok = json_array_append_new(ids, json_string(d)) == 0;
  }
  ok = ok && json_object_set_new(o, "rootfs", json_pack("{ss sO}", "type", "layers", "diff_ids", ids)) == 0;
  if (ok && c->nhistory) {
    json_t *hist = json_array();
    for (size_t i = 0; hist && i < c->nhistory; i++)
      if (json_array_append_new(hist, history_json(&c->history[i])) < 0) {
        json_decref(hist);
        hist = NULL;
      }
    ok = hist && json_object_set_new(o, "history", hist) == 0;
  }
  json_decref(ids);
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int image_config_write(const struct image_config *c, char **out, err_t *err)
{
  json_t *o = config_json(c);
  *out = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  return *out ? 0 : err_sys(err, "cannot write the image config");
}

int image_config_copy(const struct image_config *src, struct image_config *dst, err_t *err)
{
  char *s = NULL;
  if (image_config_write(src, &s, err) < 0)
    return -1;
  int r = image_config_parse(s, strlen(s), dst, err);
  free(s);
  return r;
}

static void history_release(struct image_history *h)
{
  free(h->created);
  free(h->created_by);
  free(h->author);
  free(h->comment);
}

void image_config_release(struct image_config *c)
{
  free(c->created);
  free(c->author);
  free(c->arch);
  free(c->os);
  free(c->os_version);
  free(c->variant);
  for (char **p = c->os_features; p && *p; p++)
    free(*p);
  free(c->os_features);
  json_decref(c->exec);
  free(c->diff_ids);
  for (size_t i = 0; i < c->nhistory; i++)
    history_release(&c->history[i]);
  free(c->history);
  memset(c, 0, sizeof(*c));
}

size_t image_config_history_layers(const struct image_config *c)
{
  size_t n = 0;
  for (size_t i = 0; i < c->nhistory; i++)
    n += !c->history[i].empty_layer;
  return n;
}

char *image_history_add_file(const struct digest *diff_id)
{
  char *s = NULL;
  return asprintf(&s, "/bin/sh -c #(nop) ADD file:%s in /", diff_id->hex) < 0 ? NULL : s;
}

static char *dup_or_null(const char *s, bool *ok)
{
  char *d = s ? strdup(s) : NULL;
  if (s && !d)
    *ok = false;
  return d;
}

int image_config_fill_history(struct image_config *c, err_t *err)
{
  size_t have = image_config_history_layers(c);
  if (have >= c->ndiff_ids)
    return 0;
  size_t missing = c->ndiff_ids - have;
  struct image_history *h = calloc(missing + c->nhistory, sizeof(*h));
  if (!h)
    return err_sys(err, "cannot complete the image's history");
  bool ok = true;
  for (size_t i = 0; i < missing; i++) {
    h[i].created = dup_or_null(c->created, &ok);
    h[i].created_by = image_history_add_file(&c->diff_ids[i]);
    h[i].comment = dup_or_null("history added by isola: the image had none for this layer", &ok);
    ok = ok && h[i].created_by;
  }
  if (!ok) {
    for (size_t i = 0; i < missing; i++)
      history_release(&h[i]);
    free(h);
    return err_sys(err, "cannot complete the image's history");
  }
  if (c->nhistory)
    memcpy(h + missing, c->history, c->nhistory * sizeof(*h));
  free(c->history);
  c->history = h;
  c->nhistory += missing;
  return 0;
}

int image_config_add_step(struct image_config *c, const struct digest *diff_id,
                          const struct image_history *step, err_t *err)
{
  struct image_history *h = realloc(c->history, (c->nhistory + 1) * sizeof(*h));
  if (!h)
    return err_sys(err, "cannot add to the image's history");
  c->history = h;
  if (diff_id) {
    struct digest *d = realloc(c->diff_ids, (c->ndiff_ids + 1) * sizeof(*d));
    if (!d)
      return err_sys(err, "cannot add a layer to the image config");
    c->diff_ids = d;
  }
  bool ok = true;
  struct image_history e = {
      .created = dup_or_null(step->created, &ok),
      .created_by = dup_or_null(step->created_by, &ok),
      .author = dup_or_null(step->author, &ok),
      .comment = dup_or_null(step->comment, &ok),
      .empty_layer = diff_id == NULL,
  };
  if (!ok) {
    history_release(&e);
    return err_sys(err, "cannot add to the image's history");
  }
  c->history[c->nhistory++] = e;
  if (diff_id)
    c->diff_ids[c->ndiff_ids++] = *diff_id;
  return 0;
}

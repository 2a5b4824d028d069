#include "image/authfile.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/file.h"
#include "common/json.h"

char *authfile_base64(const char *s)
{
  size_t n = strlen(s);
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
  return out;
}

char *authfile_lookup(const char *path, const char *host)
{
  json_t *doc = NULL;
  if (!path || access(path, R_OK) < 0 || json_load_path(path, &doc, NULL) < 0)
    return NULL;
  const char *enc = json_string_value(
      json_object_get(json_object_get(json_object_get(doc, "auths"), host), "auth"));
  char *out = NULL;
  if (enc) {
    size_t n = strlen(enc);
    unsigned char *dec = calloc(1, n + 4);
    int m = dec ? EVP_DecodeBlock(dec, (const unsigned char *)enc, (int)n) : -1;
    if (m > 0 && strchr((char *)dec, ':'))
      out = strdup((char *)dec);
    free(dec);
  }
  json_decref(doc);
  return out;
}

static json_t *load(const char *path, err_t *err)
{
  json_t *doc = NULL;
  if (access(path, F_OK) < 0)
    return json_pack("{s{}}", "auths");
  if (json_load_path(path, &doc, err) < 0)
    return NULL;
  if (!json_is_object(json_object_get(doc, "auths")))
    json_object_set_new(doc, "auths", json_object());
  return doc;
}

static int save(const char *path, json_t *doc, err_t *err)
{
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
  int r = text ? file_write_atomic(path, text, strlen(text), 0600, true, err)
               : err_sys(err, "cannot write `%s`", path);
  free(text);
  return r;
}

int authfile_set(const char *path, const char *host, const char *userpass, err_t *err)
{
  json_t *doc = load(path, err);
  char *enc = authfile_base64(userpass);
  int r = -1;
  if (!doc || !enc) {
    if (doc && !enc)
      err_sys(err, "cannot encode the credentials");
  } else {
    json_object_set_new(json_object_get(doc, "auths"), host, json_pack("{ss}", "auth", enc));
    r = save(path, doc, err);
  }
  free(enc);
  json_decref(doc);
  return r;
}

int authfile_remove(const char *path, const char *host, err_t *err)
{
  json_t *doc = load(path, err);
  if (!doc)
    return -1;
  int r = json_object_del(json_object_get(doc, "auths"), host) < 0
              ? err_make(err, ENOENT, "not logged in to %s", host)
              : save(path, doc, err);
  json_decref(doc);
  return r;
}

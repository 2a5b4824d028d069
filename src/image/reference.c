#include "image/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REGISTRY "docker.io"

static bool repo_char_ok(char c)
{
  return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' || c == '_' ||
         c == '-' || c == '/';
}

static bool tag_ok(const char *t)
{
  size_t n = strlen(t);
  if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

int reference_parse(const char *s, struct reference *r, err_t *err)
{
  memset(r, 0, sizeof(*r));
  if (!s || !*s)
    return err_make(err, EINVAL, "empty image reference");
  char *copy = strdup(s);
  if (!copy)
    return err_sys(err, "cannot parse `%s`", s);
  char *at = strchr(copy, '@');
  if (at) {
    *at = 0;
    if (digest_parse(at + 1, &r->digest, err) < 0) {
      free(copy);
      return err_context(err, "image reference `%s`", s);
    }
    r->has_digest = true;
  }
  char *name = copy;
  char *slash = strchr(name, '/');
  if (slash && (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':', (size_t)(slash - name)) ||
                strncmp(name, "localhost/", 10) == 0)) {
    *slash = 0;
    r->registry = strdup(name);
    name = slash + 1;
  } else {
    r->registry = strdup(DEFAULT_REGISTRY);
  }
  char *colon = strrchr(name, ':');
  if (colon) {
    *colon = 0;
    if (!tag_ok(colon + 1)) {
      err_make(err, EINVAL, "image reference `%s` has an invalid tag `%s`", s, colon + 1);
      goto fail;
    }
    r->tag = strdup(colon + 1);
  } else if (!r->has_digest) {
    r->tag = strdup("latest");
  }
  if (!*name) {
    err_make(err, EINVAL, "image reference `%s` names no repository", s);
    goto fail;
  }
  for (const char *p = name; *p; p++)
    if (!repo_char_ok(*p)) {
      err_make(err, EINVAL,
               "image reference `%s`: the repository `%s` may hold only lowercase letters, digits "
               "and . _ - /",
               s, name);
      goto fail;
    }
  if (strcmp(r->registry, DEFAULT_REGISTRY) == 0 && !strchr(name, '/')) {
    if (asprintf(&r->repository, "library/%s", name) < 0)
      r->repository = NULL;
  } else {
    r->repository = strdup(name);
  }
  free(copy);
  if (!r->registry || !r->repository)
    return err_sys(err, "cannot parse `%s`", s);
  return 0;
fail:
  free(copy);
  reference_release(r);
  return -1;
}

void reference_release(struct reference *r)
{
  free(r->registry);
  free(r->repository);
  free(r->tag);
  memset(r, 0, sizeof(*r));
}

char *reference_name(const struct reference *r)
{
  char *out = NULL;
  char d[DIGEST_STR_LEN + 1];
  if (r->tag) {
    if (asprintf(&out, "%s/%s:%s", r->registry, r->repository, r->tag) < 0)
      return NULL;
  } else {
    digest_format(&r->digest, d);
    if (asprintf(&out, "%s/%s@%s", r->registry, r->repository, d) < 0)
      return NULL;
  }
  return out;
}

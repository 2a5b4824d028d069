#include "image/registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/log.h"
#include "image/authfile.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_ENDPOINT "https://registry-1.docker.io"

/* What one HTTP exchange collects. */
struct exchange {
  char *body;
  size_t len, max;
  struct ingest *in; /* blob downloads stream here instead (2xx bodies only) */
  uint64_t *received;
  CURL *curl;
  bool resumed_checked;
  err_t *err;
  char content_type[256];
  char www_auth[1024];
  char location[2048];
  char docker_digest[128];
};

static size_t on_header(char *buf, size_t size, size_t n, void *opaque)
{
  struct exchange *x = opaque;
  size_t len = size * n;
  static const struct {
    const char *name;
    size_t off, cap;
  } want[] = {
      {"content-type:", offsetof(struct exchange, content_type), 256},
      {"www-authenticate:", offsetof(struct exchange, www_auth), 1024},
      {"location:", offsetof(struct exchange, location), 2048},
      {"docker-content-digest:", offsetof(struct exchange, docker_digest), 128},
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    size_t nl = strlen(want[i].name);
    if (len > nl && strncasecmp(buf, want[i].name, nl) == 0) {
      const char *v = buf + nl;
      size_t vl = len - nl;
      while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
      while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
      char *dst = (char *)x + want[i].off;
      if (vl >= want[i].cap)
        vl = want[i].cap - 1;
      memcpy(dst, v, vl);
      dst[vl] = 0;
    }
  }
  return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *opaque)
{
  struct exchange *x = opaque;
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
  if (x->in && status / 100 == 2) {
    /* Asked to resume but sent everything (200): start the blob over. */
    if (!x->resumed_checked && status == 200 && x->in->size && ingest_reset(x->in, x->err) < 0)
      return 0;
    x->resumed_checked = true;
    if (ingest_write(x->in, buf, len, x->err) < 0)
      return 0;
    if (x->received)
      __atomic_add_fetch(x->received, len, __ATOMIC_RELAXED);
    return len;
  }
  size_t max = x->in ? 65536 : x->max; /* an error body for a blob request */
  if (x->len + len > max) {
    err_make(x->err, EFBIG, "the registry's answer is larger than %zu bytes", max);
    return 0;
  }
  char *grown = realloc(x->body, x->len + len + 1);
  if (!grown)
    return 0;
  x->body = grown;
  memcpy(x->body + x->len, buf, len);
  x->len += len;
  x->body[x->len] = 0;
  return len;
}

/* One request; follows redirects; *status is the final HTTP status. */
static int perform(struct registry *r, const char *method, const char *url,
                   struct curl_slist *headers, const void *upload, size_t upload_len,
                   const char *upload_path, struct exchange *x, long *status, bool auth,
                   err_t *err)
{
  CURL *c = curl_easy_init();
  if (!c)
    return err_make(err, ENOMEM, "cannot start an HTTP request");
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *h = NULL;
  for (struct curl_slist *p = headers; p; p = p->next)
    h = curl_slist_append(h, p->data);
  _cleanup_free_ char *authz = NULL;
  if (auth && r->token) {
    if (asprintf(&authz, "Authorization: Bearer %s", r->token) > 0)
      h = curl_slist_append(h, authz);
  } else if (auth && r->basic) {
    _cleanup_free_ char *enc = authfile_base64(r->basic);
    if (enc && asprintf(&authz, "Authorization: Basic %s", enc) > 0)
      h = curl_slist_append(h, authz);
  }
  FILE *up = NULL;
  x->curl = c;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "HEAD"))
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, !strcmp(method, "GET") ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "isola/" "0.1");
  if (!r->tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (upload_path) {
    up = fopen(upload_path, "rb");
    if (!up) {
      curl_slist_free_all(h);
      curl_easy_cleanup(c);
      return err_sys(err, "cannot open `%s` to upload", upload_path);
    }
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READDATA, up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload_len);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  } else if (upload) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, upload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)upload_len);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (up)
    fclose(up);
  if (rc != CURLE_OK) {
    if (err_get(err))
      return -1; /* the body sink said why */
    return err_make(err, EIO, "%s %s failed: %s", method, url,
                    errbuf[0] ? errbuf : curl_easy_strerror(rc));
  }
  return 0;
}

/* key="value" from a WWW-Authenticate header. */
static char *challenge_param(const char *h, const char *key)
{
  size_t kl = strlen(key);
  for (const char *p = h; (p = strstr(p, key)); p += kl) {
    if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=' && p[kl + 1] == '"') {
      const char *v = p + kl + 2, *end = strchr(v, '"');
      return end ? strndup(v, (size_t)(end - v)) : NULL;
    }
  }
  return NULL;
}

/* distribution's token auth: GET realm?service=…&scope=repository:R:pull
 * with basic credentials when we have them; the answer has `token` or
 * `access_token`. */
static int fetch_token(struct registry *r, const char *challenge, err_t *err)
{
  _cleanup_free_ char *realm = challenge_param(challenge, "realm");
  _cleanup_free_ char *service = challenge_param(challenge, "service");
  _cleanup_free_ char *scope = challenge_param(challenge, "scope");
  if (!realm)
    return err_make(err, EPROTO, "registry %s sent a Bearer challenge without a realm", r->host);
  _cleanup_free_ char *url = NULL, *def_scope = NULL;
  if (asprintf(&def_scope, "repository:%s:%s", r->repository, r->push ? "pull,push" : "pull") < 0)
    return err_sys(err, "cannot build a token request");
  CURL *esc = curl_easy_init();
  char *s_service = service ? curl_easy_escape(esc, service, 0) : NULL;
  char *s_scope = curl_easy_escape(esc, scope && !r->push ? scope : def_scope, 0);
  int n = asprintf(&url, "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
                   s_service ? s_service : "", s_scope ? s_scope : "");
  curl_free(s_service);
  curl_free(s_scope);
  curl_easy_cleanup(esc);
  if (n < 0)
    return err_sys(err, "cannot build a token request");
  struct exchange x = {.max = 1 << 20, .err = err};
  long status = 0;
  char *saved = r->token;
  r->token = NULL;
  int rc = perform(r, "GET", url, NULL, NULL, 0, NULL, &x, &status, r->basic != NULL, err);
  free(saved);
  if (rc < 0) {
    free(x.body);
    return -1;
  }
  if (status != 200) {
    free(x.body);
    return err_make(err, EACCES,
                    "the token service of %s refused access (HTTP %ld)%s", r->host, status,
                    r->basic ? ": check the credentials (`isola login`)" : "; log in with `isola login`");
  }
  json_t *doc = NULL;
  rc = json_load_text(x.body, x.len, "token response", &doc, err);
  free(x.body);
  if (rc < 0)
    return -1;
  const char *tok = json_string_value(json_object_get(doc, "token"));
  if (!tok)
    tok = json_string_value(json_object_get(doc, "access_token"));
  r->token = tok ? strdup(tok) : NULL;
  json_decref(doc);
  if (!r->token)
    return err_make(err, EPROTO, "the token service of %s answered without a token", r->host);
  return 0;
}

/* perform() with the 401 dance: one challenge answered, then the retry. */
static int request(struct registry *r, const char *method, const char *url,
                   struct curl_slist *headers, const void *upload, size_t upload_len,
                   const char *upload_path, struct exchange *x, long *status, err_t *err)
{
  for (int attempt = 0; attempt < 2; attempt++) {
    if (perform(r, method, url, headers, upload, upload_len, upload_path, x, status, true, err) < 0)
      return -1;
    if (*status != 401 || attempt == 1)
      return 0;
    if (strncasecmp(x->www_auth, "Bearer", 6) == 0) {
      if (fetch_token(r, x->www_auth, err) < 0)
        return -1;
    } else if (strncasecmp(x->www_auth, "Basic", 5) == 0) {
      if (!r->basic)
        return err_make(err, EACCES, "registry %s wants a user name and password: run `isola "
                                     "login %s`", r->host, r->host);
      if (r->token) {
        free(r->token);
        r->token = NULL;
      } else {
        return 0; /* the credentials were sent and refused */
      }
    } else {
      return 0;
    }
    /* A refused request's body went to the error buffer, never into a
     * blob: reset it for the retry. */
    free(x->body);
    x->body = NULL;
    x->len = 0;
  }
  return 0;
}

static int http_error(struct registry *r, const char *what, long status, const struct exchange *x,
                      err_t *err)
{
  const char *code = "", *msg = "";
  json_t *doc = NULL;
  if (x->body && json_load_text(x->body, x->len, "error", &doc, NULL) == 0) {
    json_t *e = json_array_get(json_object_get(doc, "errors"), 0);
    code = json_string_value(json_object_get(e, "code")) ?: "";
    msg = json_string_value(json_object_get(e, "message")) ?: "";
  }
  int rc;
  if (status == 401)
    rc = err_make(err, EACCES, "%s: registry %s refused the credentials (HTTP 401 %s); run `isola "
                               "login %s`", what, r->host, code, r->host);
  else if (status == 404)
    rc = err_make(err, ENOENT, "%s: not found on %s (HTTP 404 %s %s)", what, r->host, code, msg);
  else
    rc = err_make(err, EIO, "%s: registry %s answered HTTP %ld %s %s", what, r->host, status, code,
                  msg);
  json_decref(doc);
  return rc;
}

int registry_open(struct registry *r, const char *host, const char *repository, bool tls_verify,
                  const char *auth_file, err_t *err)
{
  memset(r, 0, sizeof(*r));
  r->host = strdup(host);
  r->repository = strdup(repository);
  r->tls_verify = tls_verify;
  int n;
  if (!strcmp(host, DOCKER_HUB))
    n = asprintf(&r->endpoint, "%s", DOCKER_HUB_ENDPOINT);
  else
    n = asprintf(&r->endpoint, "%s://%s", tls_verify ? "https" : "http", host);
  if (n < 0 || !r->host || !r->repository) {
    registry_release(r);
    return err_sys(err, "cannot set up a client for %s", host);
  }
  r->basic = authfile_lookup(auth_file, host);
  return 0;
}

int registry_clone(const struct registry *src, struct registry *dst, err_t *err)
{
  memset(dst, 0, sizeof(*dst));
  dst->host = strdup(src->host);
  dst->endpoint = strdup(src->endpoint);
  dst->repository = strdup(src->repository);
  dst->tls_verify = src->tls_verify;
  dst->push = src->push;
  dst->received = src->received;
  dst->basic = src->basic ? strdup(src->basic) : NULL;
  dst->token = src->token ? strdup(src->token) : NULL;
  if (!dst->host || !dst->endpoint || !dst->repository) {
    registry_release(dst);
    return err_sys(err, "cannot copy a registry client");
  }
  return 0;
}

void registry_release(struct registry *r)
{
  free(r->host);
  free(r->endpoint);
  free(r->repository);
  free(r->basic);
  free(r->token);
  memset(r, 0, sizeof(*r));
}

int registry_get_manifest(struct registry *r, const char *ref, char **body, size_t *len,
                          char **content_type, err_t *err)
{
  _cleanup_free_ char *url = NULL;
  if (asprintf(&url, "%s/v2/%s/manifests/%s", r->endpoint, r->repository, ref) < 0)
    return err_sys(err, "cannot build a manifest URL");
  struct curl_slist *h = curl_slist_append(NULL, "Accept: " MANIFEST_ACCEPT);
  struct exchange x = {.max = MANIFEST_MAX, .err = err};
  long status = 0;
  int rc = request(r, "GET", url, h, NULL, 0, NULL, &x, &status, err);
  curl_slist_free_all(h);
  if (rc == 0 && status != 200) {
    char what[512];
    snprintf(what, sizeof(what), "manifest %s/%s:%s", r->host, r->repository, ref);
    rc = http_error(r, what, status, &x, err);
  }
  if (rc < 0) {
    free(x.body);
    return -1;
  }
  *body = x.body ? x.body : strdup("");
  *len = x.len;
  *content_type = strdup(x.content_type);
  return 0;
}

int registry_get_blob(struct registry *r, const struct descriptor *d, struct ingest *in,
                      err_t *err)
{
  _cleanup_free_ char *url = NULL, *range = NULL;
  if (asprintf(&url, "%s/v2/%s/blobs/sha256:%s", r->endpoint, r->repository, d->digest.hex) < 0)
    return err_sys(err, "cannot build a blob URL");
  struct curl_slist *h = NULL;
  uint64_t from = in->size;
  if (from) {
    if (asprintf(&range, "Range: bytes=%llu-", (unsigned long long)from) < 0)
      return err_sys(err, "cannot build a Range header");
    h = curl_slist_append(h, range);
    log_debug("resuming sha256:%s at byte %llu", d->digest.hex, (unsigned long long)from);
  }
  struct exchange x = {.max = 0, .in = in, .err = err, .received = r->received};
  long status = 0;
  int rc = request(r, "GET", url, h, NULL, 0, NULL, &x, &status, err);
  curl_slist_free_all(h);
  if (rc == 0 && status != 200 && status != 206) {
    char what[256];
    snprintf(what, sizeof(what), "blob sha256:%s", d->digest.hex);
    rc = http_error(r, what, status, &x, err);
  }
  free(x.body);
  return rc;
}

/* The upload URL from a Location header, with `extra` query appended. */
static char *upload_url(const struct registry *r, const char *loc, const char *extra)
{
  char *u = NULL;
  const char *sep = strchr(loc, '?') ? "&" : "?";
  int n = loc[0] == '/' ? asprintf(&u, "%s%s%s%s", r->endpoint, loc, extra ? sep : "", extra ? extra : "")
                        : asprintf(&u, "%s%s%s", loc, extra ? sep : "", extra ? extra : "");
  return n < 0 ? NULL : u;
}

static void reset_exchange(struct exchange *x, err_t *err)
{
  free(x->body);
  memset(x, 0, sizeof(*x));
  x->max = 1 << 20;
  x->err = err;
}

/* PATCH the file in chunks; `loc` is updated from each answer. */
static int upload_chunks(struct registry *r, const char *path, uint64_t size, uint64_t chunk,
                         char *loc, size_t loc_cap, err_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open `%s` to upload", path);
  char *buf = malloc(chunk);
  if (!buf)
    return err_sys(err, "cannot allocate an upload chunk");
  int rc = 0;
  for (uint64_t off = 0; rc == 0 && off < size; off += chunk) {
    uint64_t n = size - off < chunk ? size - off : chunk;
    if (pread(fd, buf, n, (off_t)off) != (ssize_t)n) {
      rc = err_sys(err, "cannot read `%s`", path);
      break;
    }
    _cleanup_free_ char *url = upload_url(r, loc, NULL), *range = NULL;
    if (!url || asprintf(&range, "Content-Range: %llu-%llu", (unsigned long long)off,
                         (unsigned long long)(off + n - 1)) < 0) {
      rc = err_sys(err, "cannot build a chunk request");
      break;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    h = curl_slist_append(h, range);
    struct exchange x = {.max = 1 << 20, .err = err};
    long status = 0;
    rc = request(r, "PATCH", url, h, buf, n, NULL, &x, &status, err);
    curl_slist_free_all(h);
    if (rc == 0 && status != 202)
      rc = http_error(r, "uploading a chunk", status, &x, err);
    if (rc == 0 && x.location[0])
      snprintf(loc, loc_cap, "%s", x.location);
    free(x.body);
  }
  free(buf);
  return rc;
}

int registry_push_blob(struct registry *r, const char *path, const struct digest *d,
                       uint64_t size, const char *from, uint64_t chunk, const char **how,
                       err_t *err)
{
  _cleanup_free_ char *url = NULL, *put = NULL;
  char dg[DIGEST_STR_LEN + 16], loc[2048];
  long status = 0;
  int rc = -1;
  struct exchange x = {.max = 1 << 20, .err = err};
  snprintf(dg, sizeof(dg), "digest=sha256:%s", d->hex);
  if (asprintf(&url, "%s/v2/%s/blobs/sha256:%s", r->endpoint, r->repository, d->hex) < 0)
    return err_sys(err, "cannot build a blob URL");
  if (request(r, "HEAD", url, NULL, NULL, 0, NULL, &x, &status, err) < 0)
    goto out;
  if (status == 200) {
    *how = "exists";
    rc = 0;
    goto out;
  }
  free(url);
  url = NULL;
  int n = from && strcmp(from, r->repository)
              ? asprintf(&url, "%s/v2/%s/blobs/uploads/?mount=sha256:%s&from=%s", r->endpoint,
                         r->repository, d->hex, from)
              : asprintf(&url, "%s/v2/%s/blobs/uploads/", r->endpoint, r->repository);
  if (n < 0) {
    err_sys(err, "cannot build an upload URL");
    goto out;
  }
  reset_exchange(&x, err);
  if (request(r, "POST", url, NULL, "", 0, NULL, &x, &status, err) < 0)
    goto out;
  if (status == 201) { /* the registry mounted it from `from` */
    *how = "mounted";
    rc = 0;
    goto out;
  }
  if (status != 202) {
    http_error(r, "starting a blob upload", status, &x, err);
    goto out;
  }
  snprintf(loc, sizeof(loc), "%s", x.location);
  reset_exchange(&x, err);
  if (chunk && upload_chunks(r, path, size, chunk, loc, sizeof(loc), err) < 0)
    goto out;
  put = upload_url(r, loc, dg);
  if (!put) {
    err_sys(err, "cannot build the upload URL");
    goto out;
  }
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
  rc = chunk ? request(r, "PUT", put, h, "", 0, NULL, &x, &status, err)
             : request(r, "PUT", put, h, NULL, size, path, &x, &status, err);
  curl_slist_free_all(h);
  if (rc == 0 && status != 201)
    rc = http_error(r, "finishing a blob upload", status, &x, err);
  if (rc == 0)
    *how = "uploaded";
out:
  free(x.body);
  return rc;
}

int registry_put_manifest(struct registry *r, const char *ref, const char *body, size_t len,
                          const char *media_type, err_t *err)
{
  _cleanup_free_ char *url = NULL, *ct = NULL;
  if (asprintf(&url, "%s/v2/%s/manifests/%s", r->endpoint, r->repository, ref) < 0 ||
      asprintf(&ct, "Content-Type: %s", media_type) < 0)
    return err_sys(err, "cannot build a manifest URL");
  struct curl_slist *h = curl_slist_append(NULL, ct);
  struct exchange x = {.max = 1 << 20, .err = err};
  long status = 0;
  int rc = request(r, "PUT", url, h, body, len, NULL, &x, &status, err);
  curl_slist_free_all(h);
  if (rc == 0 && status != 201)
    rc = http_error(r, "putting the manifest", status, &x, err);
  free(x.body);
  return rc;
}

int registry_ping(struct registry *r, err_t *err)
{
  _cleanup_free_ char *url = NULL;
  if (asprintf(&url, "%s/v2/", r->endpoint) < 0)
    return err_sys(err, "cannot build a URL");
  struct exchange x = {.max = 1 << 20, .err = err};
  long status = 0;
  int rc = request(r, "GET", url, NULL, NULL, 0, NULL, &x, &status, err);
  if (rc == 0 && status != 200)
    rc = http_error(r, "logging in", status, &x, err);
  free(x.body);
  return rc;
}

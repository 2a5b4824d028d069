#include "image/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"

static int mkdirs(const char *base, err_t *err)
{
  static const char *const subdirs[] = {"", "/blobs", "/blobs/sha256", "/ingest", "/layers",
                                        "/mounts"};
  for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
    _cleanup_free_ char *p = NULL;
    if (asprintf(&p, "%s%s", base, subdirs[i]) < 0)
      return err_sys(err, "cannot build a store path");
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
      return err_sys(err, "cannot create the image store directory `%s`", p);
  }
  return 0;
}

int store_open(struct store *st, const char *state_root, err_t *err)
{
  memset(st, 0, sizeof(*st));
  st->lock_fd = -1;
  if (mkdir(state_root, 0700) < 0 && errno != EEXIST)
    return err_sys(err, "cannot create the state root `%s`", state_root);
  if (asprintf(&st->dir, "%s/images", state_root) < 0) {
    st->dir = NULL;
    return err_sys(err, "cannot build the store path");
  }
  if (mkdirs(st->dir, err) < 0)
    return -1;
  _cleanup_free_ char *lock = NULL;
  if (asprintf(&lock, "%s/lock", st->dir) < 0)
    return err_sys(err, "cannot build the lock path");
  st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (st->lock_fd < 0)
    return err_sys(err, "cannot open the store lock `%s`", lock);
  return 0;
}

void store_close(struct store *st)
{
  if (st->lock_fd >= 0)
    close(st->lock_fd);
  st->lock_fd = -1;
  free(st->dir);
  st->dir = NULL;
}

int store_lock(struct store *st, bool exclusive, err_t *err)
{
  int r;
  do
    r = flock(st->lock_fd, exclusive ? LOCK_EX : LOCK_SH);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return err_sys(err, "cannot lock the image store `%s`", st->dir);
  return 0;
}

void store_unlock(struct store *st)
{
  flock(st->lock_fd, LOCK_UN);
}

static char *path_for(const struct store *st, const char *sub, const struct digest *d)
{
  char *p = NULL;
  if (asprintf(&p, "%s/%s/%s", st->dir, sub, d->hex) < 0)
    return NULL;
  return p;
}

char *store_blob_path(const struct store *st, const struct digest *d)
{
  return path_for(st, "blobs/sha256", d);
}

char *store_layer_path(const struct store *st, const struct digest *d)
{
  return path_for(st, "layers", d);
}

bool store_has_blob(const struct store *st, const struct digest *d)
{
  _cleanup_free_ char *p = store_blob_path(st, d);
  return p && access(p, F_OK) == 0;
}

/* Hash what an earlier, interrupted download left, to continue after it. */
static int rehash_partial(struct ingest *in, err_t *err)
{
  char buf[65536];
  ssize_t n;
  while ((n = read(in->fd, buf, sizeof(buf))) > 0) {
    hasher_update(in->h, buf, (size_t)n);
    in->size += (uint64_t)n;
  }
  if (n < 0)
    return err_sys(err, "cannot read the partial download `%s`", in->partial);
  if (in->want_size && in->size > in->want_size)
    return ingest_reset(in, err); /* longer than the blob can be: start again */
  return 0;
}

int ingest_open(struct store *st, const struct digest *want, uint64_t want_size,
                struct ingest *in, err_t *err)
{
  memset(in, 0, sizeof(*in));
  in->fd = -1;
  in->want = *want;
  in->want_size = want_size;
  in->partial = path_for(st, "ingest", want);
  in->final = store_blob_path(st, want);
  in->h = hasher_new();
  if (!in->partial || !in->final || !in->h) {
    ingest_close(in);
    return err_sys(err, "cannot start storing a blob");
  }
  /* One writer per blob: a concurrent pull of the same blob waits on the
   * lock.  When it gets it, the file may have been committed (renamed into
   * blobs/) or discarded meanwhile: then the lock is on the wrong inode, so
   * open the path again. */
  for (int tries = 0;; tries++) {
    in->fd = open(in->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (in->fd < 0) {
      int r = err_sys(err, "cannot open `%s`", in->partial);
      ingest_close(in);
      return r;
    }
    struct stat held, now;
    if (flock(in->fd, LOCK_EX) < 0) {
      int r = err_sys(err, "cannot lock `%s`", in->partial);
      ingest_close(in);
      return r;
    }
    if (fstat(in->fd, &held) == 0 && stat(in->partial, &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev)
      break;
    close(in->fd);
    in->fd = -1;
    if (tries > 100) {
      ingest_close(in);
      return err_make(err, EAGAIN, "cannot settle on the partial download `%s`", in->partial);
    }
  }
  if (rehash_partial(in, err) < 0) {
    ingest_close(in);
    return -1;
  }
  return 0;
}

int ingest_reset(struct ingest *in, err_t *err)
{
  struct digest scratch;
  if (ftruncate(in->fd, 0) < 0 || lseek(in->fd, 0, SEEK_SET) < 0)
    return err_sys(err, "cannot reset `%s`", in->partial);
  hasher_final(in->h, &scratch);
  in->size = 0;
  return 0;
}

int ingest_write(struct ingest *in, const void *data, size_t len, err_t *err)
{
  if (in->want_size && in->size + len > in->want_size)
    return err_make(err, EINVAL, "blob sha256:%s is longer than the %llu bytes its descriptor says",
                    in->want.hex, (unsigned long long)in->want_size);
  if (fd_write_all(in->fd, data, len, err) < 0)
    return err_context(err, "cannot store blob sha256:%s", in->want.hex);
  hasher_update(in->h, data, len);
  in->size += len;
  return 0;
}

int ingest_commit(struct ingest *in, err_t *err)
{
  struct digest got;
  hasher_final(in->h, &got);
  if (in->want_size && in->size != in->want_size) {
    ingest_discard(in);
    return err_make(err, EIO, "blob sha256:%s has %llu bytes, not the %llu its descriptor says",
                    in->want.hex, (unsigned long long)in->size,
                    (unsigned long long)in->want_size);
  }
  if (!digest_equal(&got, &in->want)) {
    ingest_discard(in);
    return err_make(err, EIO,
                    "blob sha256:%s does not match its digest (its content hashes to sha256:%s); "
                    "it was discarded",
                    in->want.hex, got.hex);
  }
  if (fsync(in->fd) < 0 || rename(in->partial, in->final) < 0) {
    int r = err_sys(err, "cannot commit blob sha256:%s", in->want.hex);
    ingest_close(in);
    return r;
  }
  ingest_close(in);
  return 0;
}

void ingest_close(struct ingest *in)
{
  if (in->fd >= 0)
    close(in->fd);
  in->fd = -1;
  free(in->partial);
  free(in->final);
  hasher_free(in->h);
  in->partial = in->final = NULL;
  in->h = NULL;
}

void ingest_discard(struct ingest *in)
{
  if (in->partial)
    unlink(in->partial);
  ingest_close(in);
}

int store_put(struct store *st, const void *data, size_t len, struct digest *out, err_t *err)
{
  digest_of(data, len, out);
  if (store_has_blob(st, out))
    return 0;
  struct ingest in;
  if (ingest_open(st, out, len, &in, err) < 0)
    return -1;
  if (in.size && ingest_reset(&in, err) < 0) { /* a stale partial of the same blob */
    ingest_close(&in);
    return -1;
  }
  if (ingest_write(&in, data, len, err) < 0) {
    ingest_discard(&in);
    return -1;
  }
  return ingest_commit(&in, err);
}

int store_get(const struct store *st, const struct digest *d, char **data, size_t *len,
              size_t max, err_t *err)
{
  _cleanup_free_ char *p = store_blob_path(st, d);
  _cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0)
    return err_sys(err, "blob sha256:%s is not in the store", d->hex);
  struct stat sb;
  if (fstat(fd, &sb) < 0)
    return err_sys(err, "cannot stat blob sha256:%s", d->hex);
  if ((uint64_t)sb.st_size > max)
    return err_make(err, EFBIG, "blob sha256:%s is %lld bytes, more than the %zu allowed here",
                    d->hex, (long long)sb.st_size, max);
  char *buf = malloc((size_t)sb.st_size + 1);
  if (!buf)
    return err_sys(err, "cannot read blob sha256:%s", d->hex);
  size_t got = 0;
  while (got < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
    if (n <= 0) {
      free(buf);
      return err_sys(err, "cannot read blob sha256:%s", d->hex);
    }
    got += (size_t)n;
  }
  buf[got] = 0;
  struct digest check;
  digest_of(buf, got, &check);
  if (!digest_equal(&check, d)) {
    free(buf);
    return err_make(err, EIO, "blob sha256:%s in the store is corrupt (hashes to sha256:%s)",
                    d->hex, check.hex);
  }
  *data = buf;
  *len = got;
  return 0;
}

static char *names_path(const struct store *st)
{
  char *p = NULL;
  if (asprintf(&p, "%s/names.json", st->dir) < 0)
    return NULL;
  return p;
}

int store_names(const struct store *st, json_t **names, err_t *err)
{
  _cleanup_free_ char *p = names_path(st);
  if (!p)
    return err_sys(err, "cannot build the names path");
  if (access(p, F_OK) < 0) {
    *names = json_object();
    return 0;
  }
  json_t *doc = NULL;
  if (json_load_path(p, &doc, err) < 0)
    return -1;
  json_t *n = json_object_get(doc, "names");
  if (!json_is_object(n)) {
    json_decref(doc);
    return err_make(err, EINVAL, "`%s` has no \"names\" object", p);
  }
  *names = json_incref(n);
  json_decref(doc);
  return 0;
}

static int names_save(struct store *st, json_t *names, err_t *err)
{
  _cleanup_free_ char *p = names_path(st);
  json_t *doc = json_pack("{sO}", "names", names);
  if (!p || !doc)
    return err_sys(err, "cannot build the name table");
  int r = json_write_path(p, doc, JSON_INDENT(2) | JSON_SORT_KEYS, true, err);
  json_decref(doc);
  return r;
}

int store_set_name(struct store *st, const char *name, const struct digest *d, err_t *err)
{
  json_t *names = NULL;
  char s[DIGEST_STR_LEN + 1];
  digest_format(d, s);
  if (store_names(st, &names, err) < 0)
    return -1;
  json_object_set_new(names, name, json_string(s));
  int r = names_save(st, names, err);
  json_decref(names);
  return r;
}

int store_remove_name(struct store *st, const char *name, err_t *err)
{
  json_t *names = NULL;
  if (store_names(st, &names, err) < 0)
    return -1;
  int r = 0;
  if (json_object_del(names, name) == 0)
    r = names_save(st, names, err);
  json_decref(names);
  return r;
}

int store_put_file(struct store *st, const char *path, const struct digest *want,
                   struct digest *got, uint64_t *size, err_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
    return err_sys(err, "`%s` is not a regular file", path);
  struct digest d;
  if (want) {
    d = *want;
  } else {
    struct hasher *h = hasher_new();
    char buf[65536];
    ssize_t n;
    while (h && (n = read(fd, buf, sizeof(buf))) > 0)
      hasher_update(h, buf, (size_t)n);
    if (!h)
      return err_sys(err, "cannot hash `%s`", path);
    hasher_final(h, &d);
    hasher_free(h);
    lseek(fd, 0, SEEK_SET);
  }
  *got = d;
  *size = (uint64_t)sb.st_size;
  if (store_has_blob(st, &d))
    return 0;
  struct ingest in;
  if (ingest_open(st, &d, (uint64_t)sb.st_size, &in, err) < 0)
    return -1;
  if (in.size && ingest_reset(&in, err) < 0) {
    ingest_close(&in);
    return -1;
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    if (ingest_write(&in, buf, (size_t)n, err) < 0) {
      ingest_discard(&in);
      return -1;
    }
  return ingest_commit(&in, err); /* checks the digest an OCI layout claimed */
}


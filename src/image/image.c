#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "image/layer.h"
#include "image/reference.h"
#include "image/registry.h"

char *image_normalize(const char *ref, err_t *err)
{
  struct reference r;
  if (reference_parse(ref, &r, err) < 0)
    return NULL;
  char *name = reference_name(&r);
  reference_release(&r);
  if (!name)
    err_sys(err, "cannot name `%s`", ref);
  return name;
}

/* Fetch a manifest by tag or digest, check it, keep it in the store. */
static int fetch_manifest(struct registry *reg, struct store *st, const char *ref,
                          const struct digest *want, struct manifest *m, struct digest *got,
                          err_t *err)
{
  _cleanup_free_ char *body = NULL, *ctype = NULL;
  size_t len = 0;
  if (registry_get_manifest(reg, ref, &body, &len, &ctype, err) < 0)
    return -1;
  digest_of(body, len, got);
  if (want && !digest_equal(want, got))
    return err_make(err, EIO, "manifest %s from %s hashes to sha256:%s: refused", ref, reg->host,
                    got->hex);
  if (manifest_parse(body, len, ctype, m, err) < 0)
    return err_context(err, "manifest %s/%s:%s", reg->host, reg->repository, ref);
  struct digest stored;
  return store_put(st, body, len, &stored, err);
}

static int fetch_blob(struct registry *reg, struct store *st, const struct descriptor *d,
                      FILE *progress, err_t *err)
{
  if (store_has_blob(st, &d->digest))
    return 0;
  struct ingest in;
  if (ingest_open(st, &d->digest, d->size, &in, err) < 0)
    return -1;
  if (store_has_blob(st, &d->digest)) { /* another pull finished it while we waited */
    ingest_discard(&in);
    return 0;
  }
  if (in.size == d->size && d->size) {
    /* fully downloaded before an interruption: only commit is left */
  } else if (registry_get_blob(reg, d, &in, err) < 0) {
    ingest_close(&in); /* keep what arrived: the next pull resumes */
    return -1;
  }
  if (ingest_commit(&in, err) < 0)
    return -1;
  if (progress)
    fprintf(progress, "Copying blob sha256:%.12s %llu bytes done\n", d->digest.hex,
            (unsigned long long)d->size);
  return 0;
}

static int unpack_layer(struct store *st, const struct descriptor *d, err_t *err);

struct job {
  struct registry reg;
  int *finished;
  struct store *st;
  const struct descriptor *layers;
  size_t n;
  size_t *next;
  pthread_mutex_t *lock;
  FILE *progress;
  err_t err;
};

static void *download_worker(void *arg)
{
  struct job *j = arg;
  for (;;) {
    pthread_mutex_lock(j->lock);
    size_t i = (*j->next)++;
    pthread_mutex_unlock(j->lock);
    if (i >= j->n || j->err)
      break;
    /* Layers unpack into separate directories: each worker unpacks what
     * it fetched while the others still download. */
    if (fetch_blob(&j->reg, j->st, &j->layers[i], j->progress, &j->err) < 0 ||
        unpack_layer(j->st, &j->layers[i], &j->err) < 0)
      break;
  }
  __atomic_add_fetch(j->finished, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void human(double b, char *out, size_t n)
{
  const char *unit[] = {"B", "kB", "MB", "GB"};
  int u = 0;
  while (b >= 1000 && u < 3) {
    b /= 1000;
    u++;
  }
  snprintf(out, n, "%.1f %s", b, unit[u]);
}

static double now_s(void)
{
  return (double)clock_us(CLOCK_MONOTONIC) / 1e6;
}

/* The live status line: layers, bytes and rate, redrawn in place. */
static void draw(FILE *f, size_t total_layers, uint64_t got, uint64_t total, double t0, bool last)
{
  char a[32], b[32], r[32];
  double secs = now_s() - t0;
  human((double)got, a, sizeof(a));
  human((double)total, b, sizeof(b));
  human(secs > 0 ? (double)got / secs : 0, r, sizeof(r));
  fprintf(f, "\r\033[KCopying %zu layers: %s / %s, %s/s%s", total_layers, a, b, r, last ? "\n" : "");
  fflush(f);
}

/* Layers in parallel, `jobs` at a time, each worker with its own client. */
static int fetch_layers(struct registry *reg, struct store *st, const struct manifest *m,
                        int jobs, FILE *progress, bool live, struct pull_result *res, err_t *err)
{
  uint64_t received = 0, total = 0;
  int finished = 0;
  for (size_t i = 0; i < m->nlayers; i++)
    if (!store_has_blob(st, &m->layers[i].digest)) {
      total += m->layers[i].size;
      res->layers_fetched++;
    }
  reg->received = &received;
  double t0 = now_s();
  if (jobs < 1)
    jobs = 1;
  if ((size_t)jobs > m->nlayers)
    jobs = (int)(m->nlayers ? m->nlayers : 1);
  struct job w[8];
  if (jobs > 8)
    jobs = 8;
  pthread_t t[8];
  size_t next = 0;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  int started = 0, rc = 0;
  for (int i = 0; i < jobs; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    if (registry_clone(reg, &w[i].reg, err) < 0) {
      rc = -1;
      break;
    }
    w[i].st = st;
    w[i].layers = m->layers;
    w[i].n = m->nlayers;
    w[i].next = &next;
    w[i].lock = &lock;
    w[i].progress = live ? NULL : progress;
    w[i].finished = &finished;
    if (pthread_create(&t[i], NULL, download_worker, &w[i]) != 0) {
      registry_release(&w[i].reg);
      rc = err_sys(err, "cannot start a download thread");
      break;
    }
    started++;
  }
  while (live && progress && __atomic_load_n(&finished, __ATOMIC_SEQ_CST) < started) {
    draw(progress, m->nlayers, __atomic_load_n(&received, __ATOMIC_RELAXED), total, t0, false);
    struct timespec tick = {0, 100 * 1000 * 1000};
    nanosleep(&tick, NULL);
  }
  if (live && progress)
    draw(progress, m->nlayers, received, total, t0, true);
  for (int i = 0; i < started; i++) {
    pthread_join(t[i], NULL);
    if (w[i].err && rc == 0)
      rc = err_move(err, &w[i].err);
    err_free(&w[i].err);
    registry_release(&w[i].reg);
  }
  reg->received = NULL;
  res->bytes_fetched = received;
  return rc;
}

/* Unpack one layer blob into layers/HEX via a private temporary directory
 * and rename(): a reader sees no layer or a whole one. */
static int unpack_layer(struct store *st, const struct descriptor *d, err_t *err)
{
  _cleanup_free_ char *final = store_layer_path(st, &d->digest);
  _cleanup_free_ char *blob = store_blob_path(st, &d->digest);
  _cleanup_free_ char *tmp = NULL;
  if (!final || !blob ||
      asprintf(&tmp, "%s.tmp-%d-%lx", final, (int)getpid(), (unsigned long)pthread_self()) < 0)
    return err_sys(err, "cannot build layer paths");
  if (access(final, F_OK) == 0)
    return 0; /* shared with an image pulled before */
  remove_tree(tmp);
  if (mkdir(tmp, 0755) < 0)
    return err_sys(err, "cannot create `%s`", tmp);
  struct layer_stats s;
  if (layer_unpack(blob, tmp, &s, err) < 0) {
    remove_tree(tmp);
    return err_context(err, "unpacking layer sha256:%.12s", d->digest.hex);
  }
  if (rename(tmp, final) < 0) {
    remove_tree(tmp); /* another command unpacked it first */
    if (access(final, F_OK) < 0)
      return err_sys(err, "cannot move layer `%s` into place", final);
  }
  return 0;
}

int image_unpack_layers(struct store *st, const struct manifest *m, err_t *err)
{
  for (size_t i = 0; i < m->nlayers; i++)
    if (unpack_layer(st, &m->layers[i], err) < 0)
      return -1;
  return 0;
}

static int read_config(struct store *st, const struct manifest *m, struct image_config *c, err_t *err)
{
  char *data = NULL;
  size_t len = 0;
  if (store_get(st, &m->config.digest, &data, &len, CONFIG_MAX, err) < 0)
    return -1;
  int r = image_config_parse(data, len, c, err);
  if (r == 0 && c->ndiff_ids != m->nlayers)
    r = err_make(err, EINVAL, "the image config lists %zu layers but the manifest %zu",
                 c->ndiff_ids, m->nlayers);
  free(data);
  if (r < 0)
    image_config_release(c);
  return r;
}

void pull_result_release(struct pull_result *r)
{
  free(r->name);
  memset(r, 0, sizeof(*r));
}

/* One attempt from `host` (the image's registry or one of its mirrors);
 * the image keeps its own name either way. */
static int pull_from(struct store *st, const char *host, bool tls_verify, const char *refstr,
                     const struct pull_opts *o, struct pull_result *res, err_t *err)
{
  double t0 = now_s();
  struct reference ref;
  if (reference_parse(refstr, &ref, err) < 0)
    return -1;
  _cleanup_free_ char *name = reference_name(&ref);
  char tagref[DIGEST_STR_LEN + 1];
  if (ref.has_digest)
    digest_format(&ref.digest, tagref);
  const char *at = ref.has_digest ? tagref : ref.tag;
  struct registry reg;
  struct manifest m = {0}, img = {0};
  struct digest md, imd;
  struct image_config cfg = {0};
  int rc = -1;
  if (registry_open(&reg, host, ref.repository, tls_verify, o->auth_file, err) < 0) {
    reference_release(&ref);
    return -1;
  }
  if (o->progress)
    fprintf(o->progress, "Trying to pull %s%s%s...\n", name, strcmp(host, ref.registry) ? " from " : "",
            strcmp(host, ref.registry) ? host : "");
  if (store_lock(st, false, err) < 0)
    goto out;
  if (fetch_manifest(&reg, st, at, ref.has_digest ? &ref.digest : NULL, &m, &md, err) < 0)
    goto unlock;
  if (m.kind == MANIFEST_INDEX) {
    const struct descriptor *pick;
    char child[DIGEST_STR_LEN + 1];
    if (manifest_pick_platform(&m, o->platform, &pick, err) < 0)
      goto unlock;
    digest_format(&pick->digest, child);
    if (fetch_manifest(&reg, st, child, &pick->digest, &img, &imd, err) < 0)
      goto unlock;
    if (img.kind != MANIFEST_IMAGE) {
      err_make(err, EINVAL, "index entry %s is not an image manifest", child);
      goto unlock;
    }
  } else {
    img = m;
    memset(&m, 0, sizeof(m));
    imd = md;
  }
  if (fetch_blob(&reg, st, &img.config, NULL, err) < 0 ||
      read_config(st, &img, &cfg, err) < 0)
    goto unlock;
  res->layers = img.nlayers;
  if (fetch_layers(&reg, st, &img, o->jobs, o->progress, o->live, res, err) < 0 ||
      image_unpack_layers(st, &img, err) < 0)
    goto unlock;
  store_unlock(st);
  if (store_lock(st, true, err) < 0)
    goto out;
  if (store_set_name(st, name, &imd, err) < 0)
    goto unlock;
  if (o->progress)
    fprintf(o->progress, "Writing manifest to image destination\n");
  res->id = img.config.digest;
  res->manifest = imd;
  res->name = strdup(name);
  res->seconds = now_s() - t0;
  rc = 0;
unlock:
  store_unlock(st);
out:
  if (rc < 0)
    err_context(err, "pulling %s", name ? name : refstr);
  image_config_release(&cfg);
  manifest_release(&m);
  manifest_release(&img);
  registry_release(&reg);
  reference_release(&ref);
  return rc;
}

static bool listed(json_t *arr, const char *host)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), host)) return true;
  return false;
}

int image_pull(struct store *st, const char *refstr, const struct pull_opts *o,
               struct pull_result *res, err_t *err)
{
  memset(res, 0, sizeof(*res));
  struct reference ref;
  if (reference_parse(refstr, &ref, err) < 0)
    return -1;
  json_t *conf = NULL;
  if (o->mirrors && access(o->mirrors, F_OK) == 0 && json_load_path(o->mirrors, &conf, err) < 0) {
    reference_release(&ref);
    return err_context(err, "reading the mirror configuration");
  }
  json_t *insecure = json_object_get(conf, "insecure");
  json_t *mirrors = json_object_get(json_object_get(conf, "mirrors"), ref.registry);
  size_t i;
  json_t *m;
  int r = -1;
  json_array_foreach(mirrors, i, m)
  {
    const char *host = json_string_value(m);
    if (!host)
      continue;
    err_t why = NULL;
    r = pull_from(st, host, o->tls_verify && !listed(insecure, host), refstr, o, res, &why);
    if (r == 0)
      break;
    log_warn("mirror %s of %s: %s; trying the next source", host, ref.registry, err_msg(why));
    err_free(&why);
  }
  if (r < 0)
    r = pull_from(st, ref.registry, o->tls_verify && !listed(insecure, ref.registry), refstr, o,
                  res, err);
  json_decref(conf);
  reference_release(&ref);
  return r;
}

json_t *image_names_of(json_t *names, const struct digest *m)
{
  json_t *out = json_array();
  const char *k;
  json_t *v;
  char want[DIGEST_STR_LEN + 1];
  digest_format(m, want);
  json_object_foreach(names, k, v)
    if (!strcmp(json_string_value(v), want))
      json_array_append_new(out, json_string(k));
  return out;
}

int image_load_manifest(struct store *st, const struct digest *md, struct image *img, err_t *err)
{
  memset(img, 0, sizeof(*img));
  char *data = NULL;
  size_t len = 0;
  img->manifest_digest = *md;
  if (store_get(st, md, &data, &len, MANIFEST_MAX, err) < 0)
    return -1;
  int r = manifest_parse(data, len, NULL, &img->manifest, err);
  free(data);
  if (r < 0)
    return -1;
  if (img->manifest.kind != MANIFEST_IMAGE)
    return err_make(err, EINVAL, "sha256:%s is an index, not an image", md->hex);
  img->id = img->manifest.config.digest;
  for (size_t i = 0; i < img->manifest.nlayers; i++)
    img->size += img->manifest.layers[i].size;
  if (read_config(st, &img->manifest, &img->config, err) < 0) {
    manifest_release(&img->manifest);
    return -1;
  }
  return 0;
}

/* Mounted images with no name left are still images (gc keeps them): add
 * them to the candidates under their manifest digest. */
static void add_mounted(const struct store *st, json_t *cands)
{
  _cleanup_free_ char *mounts = path_join(st->dir, "mounts");
  DIR *d = mounts ? opendir(mounts) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char s[DIGEST_STR_LEN + 1];
    struct digest md;
    snprintf(s, sizeof(s), "sha256:%.64s", e->d_name);
    if (digest_parse(s, &md, NULL) == 0 && !json_object_get(cands, s))
      json_object_set_new(cands, s, json_string(s));
  }
  if (d)
    closedir(d);
}

int image_load(struct store *st, const char *what, struct image *img, char **name, err_t *err)
{
  json_t *names = NULL;
  if (store_names(st, &names, err) < 0)
    return -1;
  add_mounted(st, names);
  struct digest md;
  const char *found = NULL;
  _cleanup_free_ char *norm = image_normalize(what, NULL);
  json_t *v = norm ? json_object_get(names, norm) : NULL;
  int r = -1;
  if (v) {
    found = norm;
  } else {
    /* An ID (config digest) or a prefix of one, with or without sha256:. */
    const char *hex = strncmp(what, "sha256:", 7) ? what : what + 7;
    size_t n = strlen(hex);
    bool ambiguous = false;
    const char *k;
    json_t *val;
    json_object_foreach(names, k, val)
    {
      struct digest d;
      struct image probe;
      if (n < 3 || digest_parse(json_string_value(val), &d, NULL) < 0 ||
          image_load_manifest(st, &d, &probe, NULL) < 0)
        continue;
      bool hit = !strncmp(probe.id.hex, hex, n);
      image_release(&probe);
      if (hit && !found) {
        md = d;
        found = k;
      } else if (hit && !digest_equal(&md, &d)) {
        ambiguous = true; /* several names of one image are not ambiguous */
      }
    }
    if (ambiguous) {
      err_make(err, EINVAL, "`%s` matches more than one image ID; give more digits", what);
      goto out;
    }
    v = found ? json_object_get(names, found) : NULL;
  }
  if (!v) {
    err_make(err, ENOENT, "no image `%s` in the store (see `isola images`)", what);
    goto out;
  }
  if (digest_parse(json_string_value(v), &md, err) < 0 || image_load_manifest(st, &md, img, err) < 0)
    goto out;
  if (name)
    *name = strdup(found);
  r = 0;
out:
  json_decref(names);
  return r;
}

void image_release(struct image *img)
{
  manifest_release(&img->manifest);
  image_config_release(&img->config);
  memset(img, 0, sizeof(*img));
}

char *image_mount_point(const struct store *st, const struct digest *manifest)
{
  char *p = NULL;
  if (asprintf(&p, "%s/mounts/%s", st->dir, manifest->hex) < 0)
    return NULL;
  return p;
}

int image_tag(struct store *st, const char *source, const char *target, err_t *err)
{
  struct image img;
  _cleanup_free_ char *to = image_normalize(target, err);
  if (!to || image_load(st, source, &img, NULL, err) < 0)
    return -1;
  int r = store_lock(st, true, err);
  if (r == 0) {
    r = store_set_name(st, to, &img.manifest_digest, err);
    store_unlock(st);
  }
  image_release(&img);
  return r;
}

int image_remove(struct store *st, const char *what, bool force, err_t *err)
{
  struct image img;
  _cleanup_free_ char *name = NULL;
  if (image_load(st, what, &img, &name, err) < 0)
    return -1;
  _cleanup_free_ char *mp = image_mount_point(st, &img.manifest_digest);
  if (mp && access(mp, F_OK) == 0) {
    image_release(&img);
    return err_make(err, EBUSY, "image `%s` is mounted at %s; run `isola image unmount %s` first",
                    what, mp, what);
  }
  if (store_lock(st, true, err) < 0) {
    image_release(&img);
    return -1;
  }
  json_t *names = NULL;
  int r = store_names(st, &names, err);
  _cleanup_free_ char *norm = image_normalize(what, NULL);
  bool by_name = norm && json_object_get(names, norm);
  json_t *all = r == 0 ? image_names_of(names, &img.manifest_digest) : NULL;
  if (r == 0 && !by_name && json_array_size(all) > 1 && !force)
    r = err_make(err, EBUSY, "image %.12s has %zu names; remove them one by one or use --force",
                 img.id.hex, json_array_size(all));
  size_t i;
  json_t *n;
  if (r == 0) {
    if (by_name)
      r = store_remove_name(st, norm, err);
    else
      json_array_foreach(all, i, n) if (r == 0) r = store_remove_name(st, json_string_value(n), err);
  }
  json_decref(all);
  json_decref(names);
  store_unlock(st);
  image_release(&img);
  return r;
}

static void mark(json_t *keep, const struct digest *d)
{
  json_object_set_new(keep, d->hex, json_true());
}

/* Mark an image manifest, its config and its layers as reachable. */
static void mark_image(struct store *st, json_t *keep, const struct digest *md)
{
  struct image img;
  mark(keep, md);
  if (image_load_manifest(st, md, &img, NULL) < 0)
    return;
  mark(keep, &img.manifest.config.digest);
  for (size_t i = 0; i < img.manifest.nlayers; i++)
    mark(keep, &img.manifest.layers[i].digest);
  image_release(&img);
}

int image_gc(struct store *st, unsigned *nblobs, unsigned *nlayers, err_t *err)
{
  *nblobs = *nlayers = 0;
  if (store_lock(st, true, err) < 0)
    return -1;
  json_t *names = NULL, *keep = json_object();
  int r = store_names(st, &names, err);
  const char *k;
  json_t *v;
  if (r == 0)
    json_object_foreach(names, k, v)
    {
      struct digest md;
      if (digest_parse(json_string_value(v), &md, NULL) == 0)
        mark_image(st, keep, &md);
    }
  /* A mounted image keeps its content whatever its names: its overlay
   * reads the layers. */
  if (r == 0) {
    json_t *mounted = json_object();
    add_mounted(st, mounted);
    json_object_foreach(mounted, k, v)
    {
      struct digest md;
      if (digest_parse(k, &md, NULL) == 0)
        mark_image(st, keep, &md);
    }
    json_decref(mounted);
  }
  /* Indexes are kept only while a name points at one of their images;
   * disks are named MANIFEST-HEX.FS. */
  static const char *const dirs[] = {"blobs/sha256", "layers", "disks"};
  for (int pass = 0; r == 0 && pass < 3; pass++) {
    _cleanup_free_ char *path = path_join(st->dir, dirs[pass]);
    DIR *d = path ? opendir(path) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
      char key[DIGEST_HEX_LEN + 1];
      snprintf(key, sizeof(key), "%.64s", e->d_name);
      if (e->d_name[0] == '.' || json_object_get(keep, key))
        continue;
      _cleanup_free_ char *victim = path_join(path, e->d_name);
      if (!victim)
        continue;
      if (pass == 0 && unlink(victim) == 0)
        (*nblobs)++;
      else if (pass == 1 && remove_tree(victim) == 0)
        (*nlayers)++;
      else if (pass == 2)
        unlink(victim);
    }
    if (d)
      closedir(d);
  }
  json_decref(keep);
  json_decref(names);
  store_unlock(st);
  return r;
}

int image_commit_manifest(struct store *st, const struct digest *config, uint64_t config_size,
                          const struct descriptor *layers, size_t n, struct digest *md, err_t *err)
{
  char cds[DIGEST_STR_LEN + 1];
  digest_format(config, cds);
  json_t *man = json_pack("{si ss s{ss ss sI} s[]}", "schemaVersion", 2, "mediaType",
                          MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", cds,
                          "size", (json_int_t)config_size, "layers");
  for (size_t i = 0; man && i < n; i++) {
    char ld[DIGEST_STR_LEN + 1];
    digest_format(&layers[i].digest, ld);
    json_array_append_new(json_object_get(man, "layers"),
                          json_pack("{ss ss sI}", "mediaType", layers[i].media_type, "digest", ld,
                                    "size", (json_int_t)layers[i].size));
  }
  char *body = man ? json_dumps(man, JSON_COMPACT) : NULL;
  json_decref(man);
  if (!body)
    return err_sys(err, "cannot build a manifest");
  struct manifest m;
  int r = store_put(st, body, strlen(body), md, err);
  if (r == 0 && (r = manifest_parse(body, strlen(body), NULL, &m, err)) == 0) {
    r = image_unpack_layers(st, &m, err);
    manifest_release(&m);
  }
  free(body);
  return r;
}

int image_push(struct store *st, const char *what, const char *dest, const struct pull_opts *o,
               err_t *err)
{
  struct image img;
  if (image_load(st, what, &img, NULL, err) < 0)
    return -1;
  struct reference ref;
  if (reference_parse(dest ? dest : what, &ref, err) < 0) {
    image_release(&img);
    return -1;
  }
  struct registry reg;
  int r = registry_open(&reg, ref.registry, ref.repository, o->tls_verify, o->auth_file, err);
  reg.push = true;
  /* An image pulled from another repository of the same registry has its
   * blobs there already: ask the registry to mount them from it. */
  _cleanup_free_ char *from = NULL;
  json_t *names = NULL;
  if (r == 0 && store_names(st, &names, NULL) == 0) {
    json_t *mine = image_names_of(names, &img.manifest_digest);
    size_t i;
    json_t *nm;
    json_array_foreach(mine, i, nm)
    {
      struct reference src;
      if (!from && reference_parse(json_string_value(nm), &src, NULL) == 0) {
        if (!strcmp(src.registry, ref.registry) && strcmp(src.repository, ref.repository))
          from = strdup(src.repository);
        reference_release(&src);
      }
    }
    json_decref(mine);
    json_decref(names);
  }
  for (size_t i = 0; r == 0 && i <= img.manifest.nlayers; i++) {
    const struct descriptor *d = i < img.manifest.nlayers ? &img.manifest.layers[i] : &img.manifest.config;
    _cleanup_free_ char *path = store_blob_path(st, &d->digest);
    const char *how = "";
    r = registry_push_blob(&reg, path, &d->digest, d->size, from, o->chunk, &how, err);
    log_debug("blob sha256:%s %s%s%s", d->digest.hex, how, !strcmp(how, "mounted") ? " from " : "",
              !strcmp(how, "mounted") ? from : "");
    if (r == 0 && o->progress)
      fprintf(o->progress, "Copying blob sha256:%.12s %s\n", d->digest.hex, how);
  }
  if (r == 0) {
    char *body = NULL;
    size_t len = 0;
    r = store_get(st, &img.manifest_digest, &body, &len, MANIFEST_MAX, err);
    if (r == 0) {
      const char *mt = img.manifest.media_type ? img.manifest.media_type : MT_OCI_MANIFEST;
      r = registry_put_manifest(&reg, ref.tag ? ref.tag : "latest", body, len, mt, err);
      free(body);
    }
  }
  if (r < 0)
    err_context(err, "pushing to %s/%s", ref.registry, ref.repository);
  registry_release(&reg);
  reference_release(&ref);
  image_release(&img);
  return r;
}

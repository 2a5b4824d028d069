#include "image/saveload.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "image/image.h"
#include "image/layer.h"

/* ---- save ---- */

static int add_bytes(struct archive *a, const char *name, const void *data, size_t len, err_t *err)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 0, 0);
  int r = 0;
  if (archive_write_header(a, e) != ARCHIVE_OK ||
      (len && archive_write_data(a, data, len) != (la_ssize_t)len))
    r = err_make(err, EIO, "cannot write `%s` to the archive: %s", name, archive_error_string(a));
  archive_entry_free(e);
  return r;
}

static int add_blob(struct archive *a, const struct store *st, const struct digest *d,
                    json_t *written, err_t *err)
{
  if (json_object_get(written, d->hex))
    return 0; /* a layer shared by two saved images goes in once */
  json_object_set_new(written, d->hex, json_true());
  _cleanup_free_ char *path = store_blob_path(st, d);
  _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0)
    return err_sys(err, "blob sha256:%s is missing from the store", d->hex);
  char name[16 + DIGEST_HEX_LEN];
  snprintf(name, sizeof(name), "blobs/sha256/%s", d->hex);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_size(e, sb.st_size);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
  archive_entry_free(e);
  char buf[65536];
  ssize_t n;
  while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
    if (archive_write_data(a, buf, (size_t)n) != n)
      r = -1;
  if (r < 0)
    return err_make(err, EIO, "cannot write blob sha256:%s to the archive: %s", d->hex,
                    archive_error_string(a));
  return 0;
}

int archive_save(struct store *st, char *const *images, int n, const char *out, err_t *err)
{
  struct archive *a = archive_write_new();
  if (!a)
    return err_sys(err, "cannot start libarchive");
  archive_write_set_format_pax_restricted(a);
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp-%d", out, (int)getpid()) < 0 ||
      archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
    archive_write_free(a);
    return err_make(err, EIO, "cannot create `%s`", out);
  }
  json_t *index = json_pack("{si s[]}", "schemaVersion", 2, "manifests");
  json_t *docker = json_array(), *written = json_object();
  int r = add_bytes(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
  for (int i = 0; r == 0 && i < n; i++) {
    struct image img;
    _cleanup_free_ char *name = NULL;
    if ((r = image_load(st, images[i], &img, &name, err)) < 0)
      break;
    char md[DIGEST_STR_LEN + 1];
    digest_format(&img.manifest_digest, md);
    char *body = NULL;
    size_t len = 0;
    r = store_get(st, &img.manifest_digest, &body, &len, MANIFEST_MAX, err);
    free(body);
    json_t *layers = json_array();
    if (r == 0)
      r = add_blob(a, st, &img.manifest_digest, written, err);
    if (r == 0)
      r = add_blob(a, st, &img.id, written, err);
    for (size_t l = 0; r == 0 && l < img.manifest.nlayers; l++) {
      r = add_blob(a, st, &img.manifest.layers[l].digest, written, err);
      char p[16 + DIGEST_HEX_LEN];
      snprintf(p, sizeof(p), "blobs/sha256/%s", img.manifest.layers[l].digest.hex);
      json_array_append_new(layers, json_string(p));
    }
    const char *tag = strrchr(name, ':');
    char cfgp[16 + DIGEST_HEX_LEN];
    snprintf(cfgp, sizeof(cfgp), "blobs/sha256/%s", img.id.hex);
    json_array_append_new(json_object_get(index, "manifests"),
                          json_pack("{ss ss sI s{ss ss}}", "mediaType",
                                    img.manifest.media_type ? img.manifest.media_type
                                                            : MT_OCI_MANIFEST,
                                    "digest", md, "size", (json_int_t)len, "annotations",
                                    "io.containerd.image.name", name,
                                    "org.opencontainers.image.ref.name", tag ? tag + 1 : "latest"));
    json_array_append_new(docker, json_pack("{ss s[s] so}", "Config", cfgp, "RepoTags", name,
                                            "Layers", layers));
    image_release(&img);
  }
  char *idx = r == 0 ? json_dumps(index, JSON_COMPACT) : NULL;
  char *man = r == 0 ? json_dumps(docker, JSON_COMPACT) : NULL;
  if (r == 0 && (!idx || !man))
    r = err_sys(err, "cannot build the archive index");
  if (r == 0)
    r = add_bytes(a, "index.json", idx, strlen(idx), err);
  if (r == 0)
    r = add_bytes(a, "manifest.json", man, strlen(man), err);
  free(idx);
  free(man);
  json_decref(index);
  json_decref(docker);
  json_decref(written);
  if (archive_write_close(a) != ARCHIVE_OK && r == 0)
    r = err_make(err, EIO, "cannot finish `%s`: %s", out, archive_error_string(a));
  archive_write_free(a);
  if (r == 0 && rename(tmp, out) < 0)
    r = err_sys(err, "cannot move the archive to `%s`", out);
  if (r < 0)
    unlink(tmp);
  return r;
}

/* ---- load ---- */

/* An archive member must resolve inside the archive: symlinks in it may
 * not point a "layer" at a host file. */
static int inside(const char *dir, const char *path, err_t *err)
{
  _cleanup_free_ char *root = realpath(dir, NULL), *real = realpath(path, NULL);
  if (!root || !real)
    return err_sys(err, "the archive has no `%s`", path);
  size_t n = strlen(root);
  if (strncmp(real, root, n) != 0 || real[n] != '/')
    return err_make(err, EPERM, "archive member `%s` resolves outside the archive: refused", path);
  return 0;
}

static int blob_in(struct store *st, const char *dir, const struct digest *d, err_t *err)
{
  _cleanup_free_ char *p = NULL;
  struct digest got;
  uint64_t size;
  if (asprintf(&p, "%s/blobs/sha256/%s", dir, d->hex) < 0)
    return err_sys(err, "cannot build a path");
  if (inside(dir, p, err) < 0)
    return -1;
  return store_put_file(st, p, d, &got, &size, err);
}

static int name_image(struct store *st, const char *name, const struct digest *md, FILE *report,
                      err_t *err)
{
  _cleanup_free_ char *norm = image_normalize(name, err);
  if (!norm || store_lock(st, true, err) < 0)
    return -1;
  int r = store_set_name(st, norm, md, err);
  store_unlock(st);
  if (r == 0 && report)
    fprintf(report, "Loaded image: %s\n", norm);
  return r;
}

static int load_oci(struct store *st, const char *dir, json_t *index, FILE *report, err_t *err)
{
  size_t i;
  json_t *m;
  int loaded = 0;
  json_array_foreach(json_object_get(index, "manifests"), i, m)
  {
    struct digest md;
    if (digest_parse(json_string_value(json_object_get(m, "digest")), &md, err) < 0 ||
        blob_in(st, dir, &md, err) < 0)
      return err_context(err, "index.json manifests[%zu]", i);
    char *body = NULL;
    size_t len = 0;
    struct manifest man;
    if (store_get(st, &md, &body, &len, MANIFEST_MAX, err) < 0)
      return -1;
    int r = manifest_parse(body, len, json_string_value(json_object_get(m, "mediaType")), &man, err);
    free(body);
    if (r < 0)
      return -1;
    if (man.kind == MANIFEST_INDEX) { /* a multi-platform image: take this host's */
      const struct descriptor *pick;
      r = manifest_pick_platform(&man, NULL, &pick, err);
      struct digest child = r == 0 ? pick->digest : md;
      manifest_release(&man);
      if (r < 0 || blob_in(st, dir, &child, err) < 0 ||
          store_get(st, &child, &body, &len, MANIFEST_MAX, err) < 0)
        return -1;
      r = manifest_parse(body, len, NULL, &man, err);
      free(body);
      md = child;
      if (r < 0)
        return -1;
    }
    r = blob_in(st, dir, &man.config.digest, err);
    for (size_t l = 0; r == 0 && l < man.nlayers; l++)
      r = blob_in(st, dir, &man.layers[l].digest, err);
    if (r == 0)
      r = image_unpack_layers(st, &man, err);
    manifest_release(&man);
    if (r < 0)
      return -1;
    json_t *ann = json_object_get(m, "annotations");
    const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
    const char *ref = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
    _cleanup_free_ char *made = NULL;
    if (!name && ref && asprintf(&made, "localhost/loaded:%s", ref) > 0)
      name = made;
    if (name && name_image(st, name, &md, report, err) < 0)
      return -1;
    if (!name && report)
      fprintf(report, "Loaded image: sha256:%s (no name)\n", man.config.digest.hex);
    loaded++;
  }
  return loaded ? 0 : err_make(err, EINVAL, "the archive's index.json lists no image");
}

/* docker save: manifest.json [{Config, RepoTags, Layers}] with files named
 * by path; the OCI manifest is made here. */
static int load_docker(struct store *st, const char *dir, json_t *list, FILE *report, err_t *err)
{
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e)
  {
    const char *cfg = json_string_value(json_object_get(e, "Config"));
    json_t *layers = json_object_get(e, "Layers");
    if (!cfg || !json_is_array(layers))
      return err_make(err, EINVAL, "manifest.json[%zu] needs Config and Layers", i);
    _cleanup_free_ char *cpath = path_join(dir, cfg);
    struct digest cd, md;
    uint64_t csize;
    if (strstr(cfg, "..") || inside(dir, cpath, err) < 0 ||
        store_put_file(st, cpath, NULL, &cd, &csize, err) < 0)
      return err_context(err, "manifest.json[%zu].Config `%s`", i, cfg);
    size_t nl = json_array_size(layers);
    struct descriptor *descs = calloc(nl ? nl : 1, sizeof(*descs));
    if (!descs)
      return err_sys(err, "cannot load `%s`", cfg);
    int r = 0;
    for (size_t j = 0; r == 0 && j < nl; j++) {
      const char *lp = json_string_value(json_array_get(layers, j));
      _cleanup_free_ char *lpath = lp ? path_join(dir, lp) : NULL;
      unsigned char magic[2] = {0};
      if (!lp || strstr(lp, "..") || inside(dir, lpath, err) < 0 ||
          store_put_file(st, lpath, NULL, &descs[j].digest, &descs[j].size, err) < 0) {
        r = err_context(err, "manifest.json[%zu].Layers[%zu]", i, j);
        break;
      }
      _cleanup_close_ int fd = open(lpath, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || read(fd, magic, 2) < 0)
        magic[0] = 0;
      descs[j].media_type = magic[0] == 0x1f && magic[1] == 0x8b ? MT_OCI_LAYER_GZIP : MT_OCI_LAYER;
    }
    if (r == 0)
      r = image_commit_manifest(st, &cd, csize, descs, nl, &md, err);
    free(descs);
    size_t k;
    json_t *tag;
    json_array_foreach(json_object_get(e, "RepoTags"), k, tag) if (r == 0) r =
        name_image(st, json_string_value(tag), &md, report, err);
    if (r < 0)
      return -1;
  }
  return 0;
}

int archive_load(struct store *st, const char *in, FILE *report, err_t *err)
{
  struct stat sb;
  if (stat(in, &sb) < 0)
    return err_sys(err, "cannot open `%s`", in);
  _cleanup_free_ char *scratch = NULL;
  const char *dir = in;
  int rc = -1;
  if (!S_ISDIR(sb.st_mode)) {
    /* Unpack the tar with the layer unpacker's checks into the store's
     * own scratch space (same filesystem, so blobs could be renamed). */
    if (asprintf(&scratch, "%s/ingest/load-%d", st->dir, (int)getpid()) < 0 ||
        mkdir(scratch, 0700) < 0)
      return err_sys(err, "cannot make a scratch directory to load `%s`", in);
    if (layer_unpack(in, scratch, NULL, err) < 0) {
      err_context(err, "reading `%s`", in);
      goto out;
    }
    dir = scratch;
  }
  {
    int r = store_lock(st, false, err);
    if (r < 0)
      goto out;
    _cleanup_free_ char *idx = path_join(dir, "index.json");
    _cleanup_free_ char *man = path_join(dir, "manifest.json");
    json_t *doc = NULL;
    if (idx && access(idx, F_OK) == 0 && json_load_path(idx, &doc, err) == 0) {
      store_unlock(st);
      r = load_oci(st, dir, doc, report, err);
    } else if (man && access(man, F_OK) == 0 && json_load_path(man, &doc, err) == 0) {
      store_unlock(st);
      r = load_docker(st, dir, doc, report, err);
    } else {
      store_unlock(st);
      r = err_get(err) ? -1 : err_make(err, EINVAL, "`%s` is neither an OCI image layout (no "
                                                   "index.json) nor a docker save archive (no "
                                                   "manifest.json)", in);
    }
    json_decref(doc);
    if (r < 0)
      goto out;
  }
  rc = 0;
out:
  if (scratch)
    remove_tree(scratch);
  return rc;
}

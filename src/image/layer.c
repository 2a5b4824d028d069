#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

static int open_in_root(int rootfd, const char *path, int flags)
{
  struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

/* "./a//b/" -> "a/b"; NULL for a path with a `..` component.  Absolute
 * paths are taken relative to the layer, as tar does. */
static char *clean_path(const char *in)
{
  char *out = malloc(strlen(in) + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  const char *p = in;
  while (*p) {
    while (*p == '/')
      p++;
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 2 && !strncmp(p, "..", 2)) {
      free(out);
      return NULL;
    }
    if (n && !(n == 1 && *p == '.')) {
      if (o)
        out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p += n;
  }
  out[o] = 0;
  return out;
}

/* The directory `rel` inside the layer, created (0755) where missing. */
static int ensure_dir(int rootfd, const char *rel, err_t *err)
{
  int fd = open_in_root(rootfd, rel, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT)
    return fd >= 0 ? fd : err_sys(err, "cannot open `%s` in the layer", rel);
  _cleanup_free_ char *parent = strdup(rel);
  if (!parent)
    return err_sys(err, "cannot unpack");
  char *slash = strrchr(parent, '/');
  const char *base = slash ? slash + 1 : parent;
  if (slash)
    *slash = 0;
  _cleanup_close_ int pfd = ensure_dir(rootfd, slash ? parent : "", err);
  if (pfd < 0)
    return -1;
  if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
    return err_sys(err, "cannot create directory `%s` in the layer", rel);
  fd = open_in_root(rootfd, rel, O_PATH | O_DIRECTORY);
  if (fd < 0)
    return err_sys(err, "cannot open `%s` in the layer", rel);
  return fd;
}

/* Remove whatever non-directory sits at `name`, so a later entry wins. */
static void clear_slot(int pfd, const char *name)
{
  struct stat sb;
  if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode))
    unlinkat(pfd, name, 0);
}

static void apply_xattrs(struct archive_entry *e, int fd, const char *path)
{
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (fsetxattr(fd, name, value, size, 0) < 0)
      log_debug("xattr `%s` on `%s` not kept: %s", name, path, strerror(errno));
  }
}

static int write_file(struct archive *a, struct archive_entry *e, int pfd, const char *base,
                      const char *path, struct layer_stats *st, err_t *err)
{
  clear_slot(pfd, base);
  _cleanup_close_ int fd =
      openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return err_sys(err, "cannot create `%s` in the layer", path);
  const void *buf;
  size_t size;
  int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
    if (pwrite(fd, buf, size, off) != (ssize_t)size)
      return err_sys(err, "cannot write `%s` in the layer", path);
    st->bytes += size;
  }
  if (r != ARCHIVE_EOF)
    return err_make(err, EIO, "cannot read `%s` from the layer: %s", path, archive_error_string(a));
  if (ftruncate(fd, archive_entry_size(e)) < 0)
    return err_sys(err, "cannot size `%s`", path);
  apply_xattrs(e, fd, path);
  if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 && errno != EPERM)
    return err_sys(err, "cannot chown `%s`", path);
  if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
    return err_sys(err, "cannot chmod `%s`", path);
  struct timespec t[2] = {{archive_entry_mtime(e), 0}, {archive_entry_mtime(e), 0}};
  futimens(fd, t);
  return 0;
}

/* Directory modes wait until the layer is unpacked: a directory the layer
 * makes read-only (or 0644, as some tars have) must still take its
 * entries when we are not root. */
struct dir_modes {
  char **paths;
  mode_t *modes;
  size_t n;
};

static int defer_mode(struct dir_modes *dm, const char *path, mode_t mode, err_t *err)
{
  char **p = realloc(dm->paths, (dm->n + 1) * sizeof(*p));
  if (p)
    dm->paths = p;
  mode_t *m = realloc(dm->modes, (dm->n + 1) * sizeof(*m));
  if (m)
    dm->modes = m;
  if (!p || !m || !(dm->paths[dm->n] = strdup(path)))
    return err_sys(err, "cannot unpack `%s`", path);
  dm->modes[dm->n++] = mode;
  return 0;
}

static int apply_modes(struct dir_modes *dm, int rootfd, err_t *err)
{
  int r = 0;
  for (size_t i = dm->n; i-- > 0;) {
    _cleanup_close_ int fd = open_in_root(rootfd, dm->paths[i], O_RDONLY | O_DIRECTORY);
    if (r == 0 && (fd < 0 || fchmod(fd, dm->modes[i]) < 0))
      r = err_sys(err, "cannot chmod `%s`", dm->paths[i]);
    free(dm->paths[i]);
  }
  free(dm->paths);
  free(dm->modes);
  memset(dm, 0, sizeof(*dm));
  return r;
}

static int make_dir(struct archive_entry *e, int rootfd, const char *path, struct dir_modes *dm,
                    err_t *err)
{
  _cleanup_close_ int pfd = ensure_dir(rootfd, path, err);
  if (pfd < 0)
    return -1;
  _cleanup_close_ int fd = open_in_root(rootfd, path, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return err_sys(err, "cannot open directory `%s` in the layer", path);
  apply_xattrs(e, fd, path);
  if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 && errno != EPERM)
    return err_sys(err, "cannot chown `%s`", path);
  if (fchmod(fd, 0700) < 0)
    return err_sys(err, "cannot chmod `%s`", path);
  return defer_mode(dm, path, archive_entry_perm(e) & 07777, err);
}

static int make_hardlink(int rootfd, int pfd, const char *base, const char *path,
                         const char *target, err_t *err)
{
  _cleanup_free_ char *t = clean_path(target);
  if (!t || !*t)
    return err_make(err, EPERM, "layer entry `%s` is a hardlink to `%s`, outside the layer: refused",
                    path, target);
  _cleanup_close_ int tfd = open_in_root(rootfd, t, O_PATH | O_NOFOLLOW);
  struct stat sb;
  if (tfd < 0 || fstat(tfd, &sb) < 0)
    return err_sys(err, "layer entry `%s` links to `%s`, which the layer does not hold", path, t);
  if (!S_ISREG(sb.st_mode))
    return err_make(err, EPERM, "layer entry `%s` is a hardlink to `%s`, which is not a regular "
                                "file: refused", path, t);
  clear_slot(pfd, base);
  if (linkat(tfd, "", pfd, base, AT_EMPTY_PATH) < 0)
    return err_sys(err, "cannot link `%s` to `%s` in the layer", path, t);
  return 0;
}

static int whiteout(int rootfd, int pfd, const char *parent, const char *base, const char *path,
                    err_t *err)
{
  if (!strcmp(base, OPAQUE)) {
    _cleanup_close_ int dfd = open_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return err_sys(err, "cannot mark `%s` opaque", parent[0] ? parent : "/");
    return 0;
  }
  const char *name = base + strlen(WHITEOUT);
  if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
    return err_make(err, EINVAL, "layer entry `%s` is a malformed whiteout", path);
  clear_slot(pfd, name);
  if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
    return err_sys(err, "cannot create the whiteout for `%s`", path);
  return 0;
}

static int unpack_entry(struct archive *a, struct archive_entry *e, int rootfd,
                        struct layer_stats *st, struct dir_modes *dm, err_t *err)
{
  const char *raw = archive_entry_pathname(e);
  _cleanup_free_ char *path = raw ? clean_path(raw) : NULL;
  if (!path)
    return err_make(err, EPERM, "layer entry `%s` has a `..` component: refused", raw ? raw : "");
  if (!*path)
    return 0; /* the layer root itself */
  _cleanup_free_ char *parent = strdup(path);
  if (!parent)
    return err_sys(err, "cannot unpack");
  char *slash = strrchr(parent, '/');
  const char *base = slash ? path + (slash - parent) + 1 : path;
  if (slash)
    *slash = 0;
  else
    parent[0] = 0;
  _cleanup_close_ int pfd = ensure_dir(rootfd, parent, err);
  if (pfd < 0)
    return -1;
  st->entries++;
  if (!strncmp(base, WHITEOUT, strlen(WHITEOUT)))
    return whiteout(rootfd, pfd, parent, base, path, err);
  const char *hardlink = archive_entry_hardlink(e);
  if (hardlink)
    return make_hardlink(rootfd, pfd, base, path, hardlink, err);
  mode_t type = archive_entry_filetype(e);
  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  switch (type) {
  case AE_IFDIR: return make_dir(e, rootfd, path, dm, err);
  case AE_IFREG: return write_file(a, e, pfd, base, path, st, err);
  case AE_IFLNK: {
    const char *target = archive_entry_symlink(e);
    if (!target || !*target)
      return err_make(err, EINVAL, "layer entry `%s` is a symlink without a target", path);
    clear_slot(pfd, base);
    if (symlinkat(target, pfd, base) < 0)
      return err_sys(err, "cannot create symlink `%s` in the layer", path);
    if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
      return err_sys(err, "cannot chown `%s`", path);
    return 0;
  }
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO: {
    clear_slot(pfd, base);
    mode_t mode = type | (archive_entry_perm(e) & 07777);
    if (mknodat(pfd, base, mode, archive_entry_rdev(e)) < 0) {
      if (errno == EPERM && type != AE_IFIFO) {
        st->skipped_devices++;
        log_warn("device node `%s` in the layer skipped: creating it needs root", path);
        return 0;
      }
      return err_sys(err, "cannot create `%s` in the layer", path);
    }
    if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
      return err_sys(err, "cannot chown `%s`", path);
    return 0;
  }
  default:
    return err_make(err, ENOTSUP, "layer entry `%s` has an unsupported type 0%o", path, type);
  }
}

static int unpack(struct archive *a, const char *dir, struct layer_stats *stats, err_t *err)
{
  struct layer_stats local = {0};
  if (!stats)
    stats = &local;
  memset(stats, 0, sizeof(*stats));
  _cleanup_close_ int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return err_sys(err, "cannot open the layer directory `%s`", dir);
  struct archive_entry *e;
  struct dir_modes dm = {0};
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    if (unpack_entry(a, e, rootfd, stats, &dm, err) < 0) {
      apply_modes(&dm, rootfd, NULL);
      return -1;
    }
  }
  if (r != ARCHIVE_EOF) {
    apply_modes(&dm, rootfd, NULL);
    return err_make(err, EIO, "the layer is not a valid tar archive: %s", archive_error_string(a));
  }
  return apply_modes(&dm, rootfd, err);
}

static struct archive *reader(void)
{
  struct archive *a = archive_read_new();
  if (a) {
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_tar(a);
  }
  return a;
}

int layer_unpack(const char *blob_path, const char *dir, struct layer_stats *stats, err_t *err)
{
  struct archive *a = reader();
  if (!a)
    return err_sys(err, "cannot start libarchive");
  int r;
  if (archive_read_open_filename(a, blob_path, 1 << 16) != ARCHIVE_OK)
    r = err_make(err, EIO, "cannot open layer `%s`: %s", blob_path, archive_error_string(a));
  else
    r = unpack(a, dir, stats, err);
  archive_read_free(a);
  return r;
}

int layer_unpack_buffer(const void *data, size_t len, const char *dir, struct layer_stats *stats,
                        err_t *err)
{
  struct archive *a = reader();
  if (!a)
    return err_sys(err, "cannot start libarchive");
  int r;
  if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
    r = err_make(err, EIO, "cannot read the layer: %s", archive_error_string(a));
  else
    r = unpack(a, dir, stats, err);
  archive_read_free(a);
  return r;
}

int layer_diff_id(const char *blob_path, struct digest *out, const char **media_type,
                  err_t *err)
{
  struct archive *a = archive_read_new();
  struct hasher *h = hasher_new();
  int r = 0;
  if (!a || !h) {
    r = err_sys(err, "cannot start hashing `%s`", blob_path);
    goto out;
  }
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_none(a);
  archive_read_support_format_raw(a);
  struct archive_entry *e;
  if (archive_read_open_filename(a, blob_path, 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(a, &e) != ARCHIVE_OK) {
    r = err_make(err, EIO, "cannot read `%s`: %s", blob_path, archive_error_string(a));
    goto out;
  }
  int filter = archive_filter_code(a, 0);
  *media_type = filter == ARCHIVE_FILTER_GZIP   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                : filter == ARCHIVE_FILTER_ZSTD ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                                : "application/vnd.oci.image.layer.v1.tar";
  char buf[65536];
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
    hasher_update(h, buf, (size_t)n);
  if (n < 0)
    r = err_make(err, EIO, "cannot decompress `%s`: %s", blob_path, archive_error_string(a));
  else
    hasher_final(h, out);
out:
  hasher_free(h);
  if (a)
    archive_read_free(a);
  return r;
}

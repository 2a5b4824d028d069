#include "image/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/log.h"

/* lowerdir names the layers relative to STORE/layers (we chdir there for
 * the mount, as containerd does), so a deep image stays under the page-size
 * limit of mount options. */
static char *lowerdirs(const struct image *img)
{
  size_t n = img->manifest.nlayers;
  char *s = malloc(n * (DIGEST_HEX_LEN + 1) + 1);
  if (!s)
    return NULL;
  size_t at = 0;
  for (size_t i = n; i-- > 0;) {
    memcpy(s + at, img->manifest.layers[i].digest.hex, DIGEST_HEX_LEN);
    at += DIGEST_HEX_LEN;
    s[at++] = i ? ':' : 0;
  }
  if (n == 0)
    s[0] = 0;
  return s;
}

int rootfs_mount(const struct store *st, const struct image *img, const char *upper,
                 const char *work, const char *target, err_t *err)
{
  if (img->manifest.nlayers == 0)
    return err_make(err, EINVAL, "image %.12s has no layers to mount", img->id.hex);
  _cleanup_free_ char *layers = path_join(st->dir, "layers");
  _cleanup_free_ char *lower = lowerdirs(img);
  if (!layers || !lower)
    return err_sys(err, "cannot build the overlay options");
  for (size_t i = 0; i < img->manifest.nlayers; i++) {
    _cleanup_free_ char *l = path_join(layers, img->manifest.layers[i].digest.hex);
    if (!l || access(l, F_OK) < 0)
      return err_make(err, ENOENT, "layer sha256:%.12s of image %.12s is not unpacked; pull the "
                                   "image again", img->manifest.layers[i].digest.hex, img->id.hex);
  }
  _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0 || chdir(layers) < 0)
    return err_sys(err, "cannot enter `%s`", layers);
  int r = 0;
  if (!upper && img->manifest.nlayers == 1) {
    /* overlayfs wants two lower layers or an upper one: bind it instead. */
    if (mount(lower, target, NULL, MS_BIND, NULL) < 0) {
      r = err_sys(err, "cannot bind the layer of %.12s on `%s`", img->id.hex, target);
    } else if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
      r = err_sys(err, "cannot make the layer of %.12s on `%s` read-only", img->id.hex, target);
      umount2(target, MNT_DETACH); /* never leave a writable layer behind */
    }
  } else {
    _cleanup_free_ char *opts = NULL;
    int n = upper ? asprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
                  : asprintf(&opts, "lowerdir=%s", lower);
    if (n < 0)
      r = err_sys(err, "cannot build the overlay options");
    else if ((size_t)n >= (size_t)getpagesize())
      r = err_make(err, E2BIG, "image %.12s has too many layers (%zu) for one overlay mount",
                   img->id.hex, img->manifest.nlayers);
    else if (mount("overlay", target, "overlay", upper ? 0 : MS_RDONLY, opts) < 0)
      r = err_sys(err, "cannot mount the overlay of %.12s on `%s`", img->id.hex, target);
  }
  if (fchdir(cwd) < 0 && r == 0) {
    r = err_sys(err, "cannot return to the working directory");
    umount2(target, MNT_DETACH);
  }
  return r;
}

int rootfs_unmount(const char *target, err_t *err)
{
  if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return err_sys(err, "cannot unmount `%s`", target);
  return 0;
}

static int run_tool(char *const argv[], err_t *err)
{
  pid_t pid = fork();
  if (pid < 0)
    return err_sys(err, "cannot start %s", argv[0]);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0)
      dup2(null, STDOUT_FILENO);
    execvp(argv[0], argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return err_sys(err, "cannot wait for %s", argv[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return err_make(err, ENOENT, "%s is not installed (apt-get install %s)", argv[0],
                    strcmp(argv[0], "mkfs.erofs") ? "e2fsprogs" : "erofs-utils");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return err_make(err, EIO, "%s failed (status %d)", argv[0],
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}

static uint64_t tree_bytes(const struct image *img)
{
  uint64_t n = 0;
  for (size_t i = 0; i < img->manifest.nlayers; i++)
    n += img->manifest.layers[i].size;
  return n;
}

char *rootfs_disk(struct store *st, const struct image *img, enum disk_fs fs, err_t *err)
{
  const char *ext = fs == DISK_EROFS ? "erofs" : "ext4";
  _cleanup_free_ char *dir = path_join(st->dir, "disks");
  char *path = NULL;
  if (!dir || asprintf(&path, "%s/%s.%s", dir, img->manifest_digest.hex, ext) < 0) {
    err_sys(err, "cannot build the disk path");
    return NULL;
  }
  if (access(path, F_OK) == 0)
    return path; /* cached: images are immutable */
  _cleanup_free_ char *tmp = NULL, *merged = NULL;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    err_sys(err, "cannot create `%s`", dir);
    free(path);
    return NULL;
  }
  if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0 ||
      asprintf(&merged, "%s/merged-%d", dir, (int)getpid()) < 0 ||
      (mkdir(merged, 0700) < 0 && errno != EEXIST)) {
    err_sys(err, "cannot prepare the disk build");
    free(path);
    return NULL;
  }
  int r = rootfs_mount(st, img, NULL, NULL, merged, err);
  if (r == 0) {
    unlink(tmp);
    if (fs == DISK_EROFS) {
      char *argv[] = {"mkfs.erofs", "--quiet", "-zlz4hc", tmp, merged, NULL};
      r = run_tool(argv, err);
    } else {
      /* Room for the unpacked tree (layers are compressed: x4) and metadata. */
      char size[32];
      snprintf(size, sizeof(size), "%lluk", (unsigned long long)(tree_bytes(img) * 4 / 1024 + 32768));
      char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-d", merged,
                      tmp, size, NULL};
      r = run_tool(argv, err);
    }
    rootfs_unmount(merged, NULL);
  }
  rmdir(merged);
  if (r == 0 && rename(tmp, path) < 0)
    r = err_sys(err, "cannot move the disk into `%s`", path);
  if (r < 0) {
    unlink(tmp);
    err_context(err, "building the %s disk of %.12s", ext, img->id.hex);
    free(path);
    return NULL;
  }
  return path;
}

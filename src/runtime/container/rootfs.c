#include "runtime/container/rootfs.h"
#include "runtime/container/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/copy.h"
#include "common/file.h"
#include "sys/mntns.h"
#include "sys/pathsafe.h"

static unsigned long root_propagation(const char *s)
{
  static const struct {
    const char *name;
    unsigned long flags;
  } t[] = {{"shared", MS_SHARED}, {"slave", MS_SLAVE}, {"private", MS_PRIVATE},
           {"unbindable", MS_UNBINDABLE}, {"rshared", MS_SHARED | MS_REC},
           {"rslave", MS_SLAVE | MS_REC}, {"rprivate", MS_PRIVATE | MS_REC},
           {"runbindable", MS_UNBINDABLE | MS_REC}};
  for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
    if (!strcmp(s, t[i].name))
      return t[i].flags;
  return MS_SLAVE | MS_REC; /* runc's default: see host mounts, never leak ours */
}

/* While the root is built, mounts made under it must not reach the host:
 * `shared` and `unbindable` are only given to the new `/` once it is built
 * (binding an unbindable root fails, and pivot_root refuses a shared one),
 * as crun does; the new root then is a peer group of its own. */
static unsigned long setup_propagation(const char *s)
{
  unsigned long f = root_propagation(s);
  if (f & (MS_SHARED | MS_UNBINDABLE))
    return MS_PRIVATE | MS_REC;
  return f | MS_REC;
}

static bool is_dir_source(const struct spec_mount *m)
{
  struct stat st;
  if (!m->bind)
    return true;
  return stat(m->source, &st) < 0 || S_ISDIR(st.st_mode);
}

/* Remount a bind mount with the flags the options asked for: MS_BIND alone
 * ignores them (mount(2) "Creating a bind mount"). */
static int bind_remount(int rootfd, const char *dest, unsigned long flags, err_t *err)
{
  _cleanup_close_ int fd = root_open(rootfd, dest, O_PATH, err);
  if (fd < 0)
    return -1;
  char p[32];
  fd_path(fd, p);
  if (mount(NULL, p, NULL, flags | MS_BIND | MS_REMOUNT, NULL) < 0)
    return err_sys(err, "cannot remount `%s` with its options", dest);
  return 0;
}

static int mount_cgroup(const struct rootfs_ctx *ctx, int rootfd, const struct spec_mount *m,
                        err_t *err)
{
  const struct cgroup *cg = ctx->cg;
  char p[32];
  if (cg->mode == CGROUP_V2) {
    _cleanup_close_ int fd = root_mkpath(rootfd, m->destination, false, 0755, err);
    if (fd < 0)
      return -1;
    fd_path(fd, p);
    if (ctx->cgroupns) {
      if (mount("cgroup2", p, "cgroup2", m->flags, NULL) < 0)
        return err_sys(err, "cannot mount cgroup2 on `%s`", m->destination);
      return 0;
    }
    if (mount(cg->unified_dir, p, NULL, MS_BIND | MS_REC, NULL) < 0)
      return err_sys(err, "cannot bind the container's cgroup on `%s`", m->destination);
    return bind_remount(rootfd, m->destination, m->flags, err);
  }
  /* v1 and hybrid: a tmpfs with one bind per hierarchy, the container's own
   * cgroup in each, as runc lays it out. */
  _cleanup_close_ int fd = root_mkpath(rootfd, m->destination, false, 0755, err);
  if (fd < 0)
    return -1;
  fd_path(fd, p);
  if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return err_sys(err, "cannot mount a tmpfs on `%s`", m->destination);
  for (size_t i = 0; i <= cg->n_v1; i++) {
    const char *name = i < cg->n_v1 ? cg->v1_names[i] : "unified";
    const char *src = i < cg->n_v1 ? cg->v1_dirs[i] : cg->unified_dir;
    /* Hybrid: the cgroup2 one only in a cgroup namespace, as runc leaves it
     * out.  Without one, /proc/self/cgroup names the host's path ("0::/
     * libpod_parent/ID"), which the bind of the container's own directory
     * lacks: systemd then looks for its cgroup there (hybrid mode tracks
     * units in cgroup2), fails and exits 255 (podman run --systemd). */
    if (!src || (i == cg->n_v1 && !ctx->cgroupns))
      continue;
    _cleanup_free_ char *dest = path_join(m->destination, name);
    _cleanup_close_ int sub = root_mkpath(rootfd, dest, false, 0755, err);
    if (sub < 0)
      return -1;
    char sp[32];
    fd_path(sub, sp);
    if (mount(src, sp, NULL, MS_BIND | MS_REC, NULL) < 0)
      return err_sys(err, "cannot bind cgroup `%s` on `%s`", src, dest);
    if (bind_remount(rootfd, dest, m->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
      return -1;
    /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct". */
    if (strchr(name, ',')) {
      _cleanup_free_ char *names = strdup(name);
      char *save = NULL;
      for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        _cleanup_close_ int parent = root_open(rootfd, m->destination, O_PATH | O_DIRECTORY, NULL);
        if (parent >= 0 && symlinkat(name, parent, n) < 0 && errno != EEXIST)
          return err_sys(err, "cannot link cgroup `%s` as `%s`", name, n);
      }
    }
  }
  if (m->flags & MS_RDONLY)
    return bind_remount(rootfd, m->destination, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
  return 0;
}

/* tmpcopyup: the new tmpfs on `dest` takes the contents of the directory
 * it covers (`under`, opened before the mount), owners and modes kept. */
static int tmpfs_copy_up(int rootfd, int under, const char *dest, err_t *err)
{
  _cleanup_close_ int top = root_open(rootfd, dest, O_RDONLY | O_DIRECTORY, err);
  if (top < 0)
    return -1;
  if (copy_tree_fd(under, top, err) < 0)
    return err_context(err, "tmpcopyup on `%s`", dest);
  return 0;
}

static int do_mount(const struct rootfs_ctx *ctx, int rootfd, const struct spec_mount *m,
                    int idmap_fd, err_t *err)
{
  if (m->tmpcopyup && (m->bind || !m->type || strcmp(m->type, "tmpfs")))
    return err_make(err, EINVAL, "mount on `%s`: tmpcopyup is only for tmpfs", m->destination);
  if (m->type && !strcmp(m->type, "cgroup"))
    return mount_cgroup(ctx, rootfd, m, err);
  bool dir = is_dir_source(m);
  _cleanup_close_ int fd = root_mkpath(rootfd, m->destination, !dir, 0755, err);
  if (fd < 0)
    return -1;
  char p[32];
  fd_path(fd, p);
  if (m->bind && idmap_fd >= 0) {
    if (idmap_attach(idmap_fd, fd, err) < 0)
      return err_context(err, "mount on `%s`", m->destination);
    unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra && bind_remount(rootfd, m->destination, extra, err) < 0)
      return -1;
  } else if (m->bind) {
    if (mount(m->source, p, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0)
      return err_sys(err, "cannot bind `%s` on `%s`", m->source, m->destination);
    unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra && bind_remount(rootfd, m->destination, extra, err) < 0)
      return -1;
  } else {
    const char *type = m->type;
    _cleanup_close_ int under = -1;
    if (m->tmpcopyup && (under = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      return err_sys(err, "cannot open `%s` to copy it up", m->destination);
    if (mount(m->source ? m->source : type, p, type, m->flags & ~MS_REMOUNT, m->data) < 0) {
      /* Without our own network namespace the kernel refuses a new sysfs:
       * fall back to the host's, read-only, as runc does. */
      if (!strcmp(type, "sysfs") && (errno == EPERM || errno == EBUSY)) {
        if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL) < 0)
          return err_sys(err, "cannot bind /sys on `%s`", m->destination);
        return bind_remount(rootfd, m->destination, m->flags | MS_RDONLY, err);
      }
      return err_sys(err, "cannot mount `%s` (%s) on `%s`%s%s", m->source ? m->source : type, type,
                     m->destination, m->data ? " with " : "", m->data ? m->data : "");
    }
    if (under >= 0 && tmpfs_copy_up(rootfd, under, m->destination, err) < 0)
      return -1;
  }
  if (m->propagation) {
    _cleanup_close_ int again = root_open(rootfd, m->destination, O_PATH, err);
    if (again < 0)
      return -1;
    fd_path(again, p);
    if (mount(NULL, p, NULL, m->propagation, NULL) < 0)
      return err_sys(err, "cannot set the propagation of `%s`", m->destination);
  }
  return 0;
}

/* config-linux.md "Default Devices". */
static const struct {
  const char *path;
  unsigned major, minor;
} default_devices[] = {
    {"/dev/null", 1, 3}, {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static int make_device(int rootfd, const char *path, char type, unsigned major, unsigned minor,
                       mode_t mode, uid_t uid, gid_t gid, bool bind, err_t *err)
{
  if (bind) {
    /* In a user namespace mknod is refused: bind the host's node. */
    _cleanup_close_ int fd = root_mkpath(rootfd, path, true, 0000, err);
    if (fd < 0)
      return -1;
    char p[32];
    fd_path(fd, p);
    if (mount(path, p, NULL, MS_BIND, NULL) < 0)
      return err_sys(err, "cannot bind device `%s`", path);
    return 0;
  }
  _cleanup_free_ char *dir = strdup(path);
  char *slash = strrchr(dir, '/');
  *slash = '\0';
  _cleanup_close_ int dfd = root_mkpath(rootfd, *dir ? dir : "/", false, 0755, err);
  if (dfd < 0)
    return -1;
  _cleanup_close_ int real = openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (real < 0) {
    /* O_PATH fds cannot be used with mknodat: reopen through /proc. */
    char p[32];
    fd_path(dfd, p);
    real = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (real < 0)
      return err_sys(err, "cannot open `%s` in the container", dir);
  }
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  unlinkat(real, slash + 1, 0);
  if (mknodat(real, slash + 1, kind | (mode & 07777), makedev(major, minor)) < 0)
    return err_sys(err, "cannot create device `%s`", path);
  /* mknod applies our umask: set the mode the config asked for. */
  if (fchmodat(real, slash + 1, mode & 07777, 0) < 0 || fchownat(real, slash + 1, uid, gid, 0) < 0)
    return err_sys(err, "cannot set mode and owner of device `%s`", path);
  return 0;
}

static int make_dev(const struct rootfs_ctx *ctx, int rootfd, err_t *err)
{
  const struct spec_linux *l = &ctx->spec->linux_;
  for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++)
    if (make_device(rootfd, default_devices[i].path, 'c', default_devices[i].major,
                    default_devices[i].minor, 0666, 0, 0, ctx->userns, err) < 0)
      return -1;
  for (size_t i = 0; i < l->n_devices; i++) {
    const struct spec_device *d = &l->devices[i];
    if (make_device(rootfd, d->path, d->type == 'u' ? 'c' : d->type, (unsigned)d->major,
                    (unsigned)d->minor, d->has_mode ? d->mode : 0666, d->has_uid ? d->uid : 0,
                    d->has_gid ? d->gid : 0, ctx->userns, err) < 0)
      return err_context(err, "linux.devices[%zu]", i);
  }
  static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
                                         {"/proc/self/fd/0", "/dev/stdin"},
                                         {"/proc/self/fd/1", "/dev/stdout"},
                                         {"/proc/self/fd/2", "/dev/stderr"},
                                         {"pts/ptmx", "/dev/ptmx"}};
  _cleanup_close_ int dev = root_open(rootfd, "/dev", O_PATH | O_DIRECTORY, err);
  if (dev < 0)
    return -1;
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
    const char *name = links[i][1] + 5;
    if (!strcmp(name, "ptmx"))
      unlinkat(dev, name, 0); /* an image's /dev/ptmx node would bypass devpts' instance */
    if (symlinkat(links[i][0], dev, name) < 0 && errno != EEXIST)
      return err_sys(err, "cannot create symlink `%s`", links[i][1]);
  }
  return 0;
}

static bool dev_is_bind(const struct spec *s)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (!strcmp(s->mounts[i].destination, "/dev"))
      return s->mounts[i].bind;
  return false;
}

/* runc does every mount in the caller's namespace then, and leaves them on
 * the host; it refuses only masked and read-only paths.  We refuse all
 * that would change a mount the caller sees. */
static int refuse_in_shared_mntns(const struct spec *s, err_t *err)
{
  static const char why[] = "needs a mount namespace of the container's own (add {\"type\": "
                            "\"mount\"} to linux.namespaces): without one it would change the "
                            "mounts of the caller's namespace";
  const struct spec_linux *l = &s->linux_;
  if (s->n_mounts)
    return err_make(err, EINVAL, "mounts[0] (`%s`): %s", s->mounts[0].destination, why);
  if (l->masked_paths && l->masked_paths[0])
    return err_make(err, EINVAL, "linux.maskedPaths: %s", why);
  if (l->readonly_paths && l->readonly_paths[0])
    return err_make(err, EINVAL, "linux.readonlyPaths: %s", why);
  if (s->root_readonly)
    return err_make(err, EINVAL, "root.readonly: %s", why);
  if (l->rootfs_propagation)
    return err_make(err, EINVAL, "linux.rootfsPropagation: %s", why);
  return 0;
}

/* The caller's mounts stay as they are: only device nodes are made in the
 * root (as runc does; not in a user namespace, where they are mounts). */
static int prepare_shared(const struct rootfs_ctx *ctx, err_t *err)
{
  if (refuse_in_shared_mntns(ctx->spec, err) < 0)
    return -1;
  if (ctx->userns)
    return 0;
  _cleanup_close_ int rootfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return err_sys(err, "cannot open the root filesystem `%s`", ctx->rootfs);
  return make_dev(ctx, rootfd, err);
}

int rootfs_prepare(const struct rootfs_ctx *ctx, err_t *err)
{
  const struct spec *s = ctx->spec;
  if (ctx->shared_mntns)
    return prepare_shared(ctx, err);
  if (mount(NULL, "/", NULL, setup_propagation(s->linux_.rootfs_propagation), NULL) < 0)
    return err_sys(err, "cannot set the propagation of `/`");
  /* pivot_root needs the new root to be a mount point. */
  if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return err_sys(err, "cannot bind the root filesystem `%s`", ctx->rootfs);
  _cleanup_close_ int rootfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return err_sys(err, "cannot open the root filesystem `%s`", ctx->rootfs);
  for (size_t i = 0; i < s->n_mounts; i++)
    if (do_mount(ctx, rootfd, &s->mounts[i], ctx->idmap_fds ? ctx->idmap_fds[i] : -1, err) < 0)
      return err_context(err, "mounts[%zu]", i);
  if (!dev_is_bind(s) && make_dev(ctx, rootfd, err) < 0)
    return -1;
  return 0;
}

int rootfs_pivot(const struct rootfs_ctx *ctx, err_t *err)
{
  if (chdir(ctx->rootfs) < 0)
    return err_sys(err, "cannot enter `%s`", ctx->rootfs);
  if (ctx->shared_mntns) { /* pivot_root would move the caller's root */
    if (chroot(".") < 0)
      return err_sys(err, "cannot chroot into the root filesystem");
    return chdir("/") < 0 ? err_sys(err, "chdir /") : 0;
  }
  if (ctx->no_pivot) {
    if (mount(ctx->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
      return err_sys(err, "cannot move the root filesystem to `/`");
    if (chroot(".") < 0)
      return err_sys(err, "cannot chroot into the root filesystem");
    return chdir("/") < 0 ? err_sys(err, "chdir /") : 0;
  }
  return mntns_pivot_root(ctx->rootfs, err);
}

static int mask_path(const char *path, err_t *err)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : err_sys(err, "cannot mask `%s`", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
      return err_sys(err, "cannot mask directory `%s`", path);
  } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
    return err_sys(err, "cannot mask `%s`", path);
  }
  return 0;
}

static int readonly_path(const char *path, err_t *err)
{
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return errno == ENOENT ? 0 : err_sys(err, "cannot bind `%s` read-only", path);
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            NULL) < 0 &&
      mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    return err_sys(err, "cannot make `%s` read-only", path);
  return 0;
}

int rootfs_finish(const struct rootfs_ctx *ctx, err_t *err)
{
  const struct spec_linux *l = &ctx->spec->linux_;
  for (size_t i = 0; l->masked_paths && l->masked_paths[i]; i++)
    if (mask_path(l->masked_paths[i], err) < 0)
      return err_context(err, "linux.maskedPaths[%zu]", i);
  for (size_t i = 0; l->readonly_paths && l->readonly_paths[i]; i++)
    if (readonly_path(l->readonly_paths[i], err) < 0)
      return err_context(err, "linux.readonlyPaths[%zu]", i);
  if (ctx->spec->root_readonly &&
      mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    return err_sys(err, "cannot make the root filesystem read-only (root.readonly)");
  /* Last: masked and read-only paths are binds, which an unbindable tree
   * refuses (EINVAL). */
  const char *prop = l->rootfs_propagation;
  if (prop && !ctx->shared_mntns && mount(NULL, "/", NULL, root_propagation(prop), NULL) < 0)
    return err_sys(err, "linux.rootfsPropagation: cannot make `/` %s", prop);
  return 0;
}

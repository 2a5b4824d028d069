/* isola cp: files between a container's root and the host.  Paths inside
 * the container are resolved with RESOLVE_IN_ROOT and copied with *at()
 * calls only, so no link in the image leads outside its root. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/copy.h"
#include "common/file.h"
#include "common/log.h"
#include "engine/base/proc.h"
#include "engine/cli/commands.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "sys/pathsafe.h"

/* "CTR:PATH" → container and path; NULL for a host path. */
static char *split_ref(const char *arg, const char **path)
{
  const char *colon = strchr(arg, ':');
  if (!colon || arg[0] == '/' || arg[0] == '.' || colon == arg)
    return NULL;
  *path = colon + 1;
  return strndup(arg, (size_t)(colon - arg));
}

/* The container's root, mounted for the copy when it does not run. */
static int open_root(struct ctr *c, bool *mounted, err_t *err)
{
  if (ctr_mount_rootfs(c, mounted, err) < 0)
    return -1;
  _cleanup_free_ char *rootfs = path_join(c->dir, "rootfs");
  int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open `%s`", rootfs);
  return fd;
}

/* Parent directory fd and last component of `path` (inside `rootfd` when
 * rootfd >= 0, else on the host). */
static int parent_of(int rootfd, const char *path, char **base, err_t *err)
{
  _cleanup_free_ char *a = strdup(path), *b = strdup(path);
  size_t l = strlen(a);
  while (l > 1 && a[l - 1] == '/') {
    l--;
    a[l] = b[l] = 0;
  }
  const char *dir = dirname(a);
  *base = strdup(basename(b));
  int fd = rootfd >= 0 ? root_open(rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, err)
                       : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && rootfd < 0)
    err_sys(err, "cannot open the directory `%s`", dir);
  return fd;
}

static bool is_dir_at(int dirfd, const char *name)
{
  struct stat st;
  return fstatat(dirfd, name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

int cmd_cp(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "Usage: isola cp CONTAINER:SRC HOST-DEST | HOST-SRC CONTAINER:DEST\n");
    return EXIT_ENGINE;
  }
  const char *spath = argv[1], *dpath = argv[2];
  _cleanup_free_ char *sctr = split_ref(argv[1], &spath);
  _cleanup_free_ char *dctr = split_ref(argv[2], &dpath);
  _cleanup_err_ err_t err = NULL;
  if (!sctr == !dctr) {
    log_error("one side of `isola cp` is CONTAINER:PATH and the other a host path");
    return EXIT_ENGINE;
  }
  struct ctr ct;
  if (ctr_open(sctr ? sctr : dctr, &ct, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  bool mounted = false;
  int status = 0;
  /* a stopped container's root is mounted for the copy: no start meanwhile */
  int rootfd = ctr_lock(&ct, &err) < 0 ? -1 : open_root(&ct, &mounted, &err);
  if (rootfd < 0) {
    log_err(err);
    if (mounted) {
      _cleanup_free_ char *rootfs = path_join(ct.dir, "rootfs");
      proc_unmount_all(rootfs);
    }
    ctr_close(&ct);
    return EXIT_ENGINE;
  }
  _cleanup_free_ char *sbase = NULL, *dbase = NULL;
  int sdir = parent_of(sctr ? rootfd : -1, spath, &sbase, &err);
  int ddir = sdir < 0 ? -1 : parent_of(dctr ? rootfd : -1, dpath, &dbase, &err);
  if (sdir < 0 || ddir < 0) {
    log_err(err);
    status = EXIT_ENGINE;
  } else {
    struct stat st;
    if (fstatat(sdir, sbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      log_error("cannot copy `%s`: %s", argv[1], strerror(errno));
      status = EXIT_ENGINE;
    } else {
      /* into an existing directory, else as the destination name */
      int into = -1;
      const char *name = dbase;
      if (is_dir_at(ddir, dbase) && strcmp(dbase, "/") && strcmp(dbase, ".")) {
        into = dctr ? root_open(rootfd, dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC, NULL)
                    : open(dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        name = sbase;
      } else if (!strcmp(dbase, "/")) {
        into = dup(ddir);
        name = sbase;
      }
      if (copy_entry(sdir, sbase, into >= 0 ? into : ddir, name, &err) < 0) {
        log_err(err);
        status = EXIT_ENGINE;
      }
      if (into >= 0)
        close(into);
    }
  }
  if (sdir >= 0)
    close(sdir);
  if (ddir >= 0)
    close(ddir);
  close(rootfd);
  if (mounted) {
    _cleanup_free_ char *rootfs = path_join(ct.dir, "rootfs");
    proc_unmount_all(rootfs);
  }
  ctr_close(&ct);
  return status;
}

#include "sys/pathsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

void fd_path(int fd, char buf[static 32])
{
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int root_open(int rootfd, const char *path, int flags, err_t *err)
{
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/')
    path++;
  int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
  if (fd < 0)
    return err_sys(err, "cannot open `/%s` in the container", path);
  return fd;
}

/* `path` with its first `done` bytes replaced by a symlink's target: what
 * the kernel would walk next, resolved inside the root. */
static char *rewrite(const char *path, size_t comp_start, size_t done, const char *target)
{
  char *out = NULL;
  if (target[0] == '/')
    return asprintf(&out, "%s%s", target, path + done) < 0 ? NULL : out;
  return asprintf(&out, "%.*s%s%s", (int)comp_start, path, target, path + done) < 0 ? NULL : out;
}

static int mkpath(int rootfd, const char *path, bool file, mode_t mode, int depth, err_t *err)
{
  if (depth > 40)
    return err_make(err, ELOOP, "too many symlinks below `%s` in the container", path);
  _cleanup_free_ char *p = strdup(path);
  if (!p)
    return err_sys(err, "path");
  /* Walk down, creating what is missing.  Each prefix is resolved afresh
   * inside the root, so a symlink made by the image cannot redirect us. */
  _cleanup_close_ int dir = root_open(rootfd, "/", O_PATH | O_DIRECTORY, err);
  if (dir < 0)
    return -1;
  char *save = NULL;
  char *comp = strtok_r(p, "/", &save);
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    bool last = next == NULL;
    if (!strcmp(comp, ".."))
      return err_make(err, EINVAL, "path `%s` must not contain `..`", path);
    size_t start = (size_t)(comp - p), done = start + strlen(comp);
    _cleanup_free_ char *prefix = strndup(path, done);
    int fd = root_open(rootfd, prefix, O_PATH, NULL);
    if (fd < 0) {
      /* A dangling symlink: create its target, inside the root. */
      char target[4096];
      ssize_t n = readlinkat(dir, comp, target, sizeof(target) - 1);
      if (n > 0) {
        target[n] = '\0';
        _cleanup_free_ char *again = rewrite(path, start, done, target);
        if (!again)
          return err_sys(err, "path");
        return mkpath(rootfd, again, file, mode, depth + 1, err);
      }
      if (last && file) {
        int f = openat(dir, comp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
        if (f < 0 && errno != EEXIST)
          return err_sys(err, "cannot create `%s` in the container", prefix);
        if (f >= 0)
          close(f);
      } else if (mkdirat(dir, comp, mode) < 0 && errno != EEXIST) {
        return err_sys(err, "cannot create directory `%s` in the container", prefix);
      }
      fd = root_open(rootfd, prefix, O_PATH, err);
      if (fd < 0)
        return -1;
    }
    close(dir);
    dir = fd;
    comp = next;
  }
  return steal_fd(&dir);
}

int root_mkpath(int rootfd, const char *path, bool file, mode_t mode, err_t *err)
{
  return mkpath(rootfd, path, file, mode, 0, err);
}

#include "runtime/container/pathsafe.h"

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

int root_mkpath(int rootfd, const char *path, bool file, mode_t mode, err_t *err)
{
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
  size_t done = 0;
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    bool last = next == NULL;
    if (!strcmp(comp, ".."))
      return err_make(err, EINVAL, "path `%s` must not contain `..`", path);
    done = (size_t)(comp - p) + strlen(comp);
    _cleanup_free_ char *prefix = strndup(path, done);
    int fd = root_open(rootfd, prefix, O_PATH, NULL);
    if (fd < 0) {
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

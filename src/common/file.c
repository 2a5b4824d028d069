#include "common/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

int file_read_all(const char *path, size_t max, char **out, size_t *len, err_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open `%s`", path);
  size_t cap = 4096, n = 0;
  _cleanup_free_ char *buf = malloc(cap + 1);
  if (!buf)
    return err_sys(err, "cannot read `%s`", path);
  for (;;) {
    if (n == cap) {
      if (cap >= max)
        return err_make(err, EFBIG, "`%s` is larger than %zu bytes", path, max);
      cap = cap * 2 > max ? max : cap * 2;
      char *nb = realloc(buf, cap + 1);
      if (!nb)
        return err_sys(err, "cannot read `%s`", path);
      buf = nb;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return err_sys(err, "cannot read `%s`", path);
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  if (len)
    *len = n;
  *out = steal_ptr(&buf);
  return 0;
}

int fd_write_all(int fd, const void *data, size_t len, err_t *err)
{
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return err_sys(err, "write failed");
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int fd_pwrite_all(int fd, const void *data, size_t len, off_t off, err_t *err)
{
  const char *p = data;
  while (len > 0) {
    ssize_t w = pwrite(fd, p, len, off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return err_sys(err, "write failed");
    p += w;
    off += w;
    len -= (size_t)w;
  }
  return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable,
                      err_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
    return err_sys(err, "cannot write `%s`", path);
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return err_sys(err, "cannot create `%s`", tmp);
  if (fd_write_all(fd, data, len, err) < 0 || (durable && fsync(fd) < 0)) {
    if (!err_get(err))
      err_sys(err, "cannot sync `%s`", tmp);
    unlink(tmp);
    return err_context(err, "cannot write `%s`", path);
  }
  if (rename(tmp, path) < 0) {
    err_sys(err, "cannot rename `%s` to `%s`", tmp, path);
    unlink(tmp);
    return -1;
  }
  return 0;
}

int file_lock(const char *path, err_t *err)
{
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return err_sys(err, "cannot open the lock `%s`", path);
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) {
      close(fd);
      return err_sys(err, "cannot lock `%s`", path);
    }
  return fd;
}

int mkdir_p(const char *path, mode_t mode, err_t *err)
{
  if (!*path)
    return err_make(err, EINVAL, "cannot create a directory with an empty path");
  _cleanup_free_ char *p = strdup(path);
  if (!p)
    return err_sys(err, "cannot create `%s`", path);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return err_sys(err, "cannot create directory `%s`", p);
    *s = c;
    if (!c)
      break;
  }
  struct stat st;
  if (stat(path, &st) < 0)
    return err_sys(err, "cannot create directory `%s`", path);
  if (!S_ISDIR(st.st_mode))
    return err_make(err, ENOTDIR, "cannot create directory `%s`: a file of that name exists", path);
  return 0;
}

char *path_join(const char *a, const char *b)
{
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  char *out = NULL;
  if (asprintf(&out, "%.*s/%s", (int)la, a, b) < 0)
    return NULL;
  if (la == 1 && a[0] == '/')
    memmove(out, out + 1, strlen(out)); /* "/" + "x" is "/x", not "//x" */
  return out;
}

int remove_tree(const char *path)
{
  /* Symlinks are removed, never followed; as root no mode gets in the way. */
  DIR *d = opendir(path);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int dfd = dirfd(d);
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    struct stat sb;
    if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
      _cleanup_free_ char *sub = path_join(path, e->d_name);
      if (sub)
        remove_tree(sub);
    } else {
      unlinkat(dfd, e->d_name, 0);
    }
  }
  closedir(d);
  return rmdir(path);
}


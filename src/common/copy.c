/* Tree copies with *at() calls only (copy.h). */
#include "common/copy.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"

static int copy_data(int in, int out, off_t size, err_t *err)
{
  off_t left = size;
  while (left > 0) {
    ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      /* sendfile refuses some files (procfs-like): copy by hand */
      char buf[65536];
      ssize_t r;
      while ((r = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)r) != r)
          return err_sys(err, "write");
      return r < 0 ? err_sys(err, "read") : 0;
    }
    left -= n;
  }
  return 0;
}

/* Owner, mode and times as the source had them; best effort (a rootless
 * caller cannot give files away). */
static void attrs(int dirfd, const char *name, const struct stat *st, bool link)
{
  int flags = link ? AT_SYMLINK_NOFOLLOW : 0;
  int r = fchownat(dirfd, name, st->st_uid, st->st_gid, flags);
  if (!link)
    r |= fchmodat(dirfd, name, st->st_mode & 07777, 0);
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  r |= utimensat(dirfd, name, ts, flags);
  (void)r;
}

int copy_entry(int srcdir, const char *name, int dstdir, const char *dstname, err_t *err)
{
  struct stat st;
  if (fstatat(srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return err_sys(err, "cannot stat `%s`", name);
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dstdir, dstname, 0700) < 0 && errno != EEXIST)
      return err_sys(err, "cannot make the directory `%s`", dstname);
    _cleanup_close_ int s = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int d = openat(dstdir, dstname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0)
      return err_sys(err, "cannot open the directory `%s`", name);
    if (copy_tree_fd(s, d, err) < 0)
      return -1;
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(srcdir, name, target, sizeof target - 1);
    if (n < 0)
      return err_sys(err, "cannot read the link `%s`", name);
    target[n] = 0;
    unlinkat(dstdir, dstname, 0);
    if (symlinkat(target, dstdir, dstname) < 0)
      return err_sys(err, "cannot make the link `%s`", dstname);
  } else if (S_ISREG(st.st_mode)) {
    _cleanup_close_ int in = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
      return err_sys(err, "cannot open `%s`", name);
    /* never write through a link the destination side planted */
    unlinkat(dstdir, dstname, 0);
    _cleanup_close_ int out = openat(dstdir, dstname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
      return err_sys(err, "cannot create `%s`", dstname);
    if (copy_data(in, out, st.st_size, err) < 0)
      return err_context(err, "copying `%s`", name);
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
    unlinkat(dstdir, dstname, 0);
    if (mknodat(dstdir, dstname, st.st_mode, st.st_rdev) < 0)
      return err_sys(err, "cannot make the node `%s`", dstname);
  }
  attrs(dstdir, dstname, &st, S_ISLNK(st.st_mode));
  return 0;
}

int copy_tree_fd(int src, int dst, err_t *err)
{
  int dupfd = fcntl(src, F_DUPFD_CLOEXEC, 3);
  if (dupfd < 0)
    return err_sys(err, "dup");
  DIR *d = fdopendir(dupfd);
  if (!d) {
    close(dupfd);
    return err_sys(err, "fdopendir");
  }
  struct dirent *e;
  int r = 0;
  while (r == 0 && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    r = copy_entry(src, e->d_name, dst, e->d_name, err);
  }
  closedir(d);
  return r;
}

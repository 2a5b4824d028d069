/* Merging a Diff snapshot's memory file onto its base: the diff holds data
 * only where pages were written (holes elsewhere), so its data segments
 * are copied over the base at the same offsets, as Firecracker's
 * rebase-snap does. */
#include "vmm/snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

/* Copy [off, off+len) of `from` to the same place in `to`.  *buffered:
 * copy_file_range failed once for these files, so go through a buffer. */
static int copy_range(int from, int to, off_t off, off_t len, bool *buffered, const char *diff, err_t *err)
{
  while (len > 0) {
    loff_t in = off, out = off;
    ssize_t n = -1;
    if (!*buffered) {
      n = copy_file_range(from, &in, to, &out, (size_t)len, 0);
      if (n < 0 && errno == EINTR)
        continue;
      /* another filesystem, or one without it */
      *buffered = n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS);
    }
    if (*buffered) {
      char buf[1 << 16];
      n = pread(from, buf, len < (off_t)sizeof buf ? (size_t)len : sizeof buf, off);
      if (n > 0 && fd_pwrite_all(to, buf, (size_t)n, off, err) < 0)
        return -1;
    }
    if (n < 0)
      return err_sys(err, "cannot copy from `%s`", diff);
    if (n == 0)
      return err_make(err, EIO, "`%s` ended early", diff);
    off += n;
    len -= n;
  }
  return 0;
}

int snapshot_rebase(const char *base, const char *diff, err_t *err)
{
  _cleanup_close_ int d = open(diff, O_RDONLY | O_CLOEXEC);
  if (d < 0)
    return err_sys(err, "--diff-file: cannot open `%s`", diff);
  _cleanup_close_ int b = open(base, O_WRONLY | O_CLOEXEC);
  if (b < 0)
    return err_sys(err, "--base-file: cannot open `%s` for writing", base);
  struct stat ds, bs;
  if (fstat(d, &ds) < 0 || fstat(b, &bs) < 0)
    return err_sys(err, "cannot stat `%s` or `%s`", diff, base);
  if (ds.st_dev == bs.st_dev && ds.st_ino == bs.st_ino)
    return err_make(err, EINVAL, "--base-file and --diff-file are the same file");
  if (ds.st_size != bs.st_size)
    return err_make(err, EINVAL,
                    "`%s` holds %lld bytes and `%s` %lld: a diff and its base are the same machine's memory",
                    diff, (long long)ds.st_size, base, (long long)bs.st_size);
  bool buffered = false;
  for (off_t off = 0; off < ds.st_size;) {
    off_t data = lseek(d, off, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; /* only holes from here */
    if (data < 0)
      return err_sys(err, "cannot find the data in `%s`", diff);
    off_t hole = lseek(d, data, SEEK_HOLE);
    if (hole < 0)
      return err_sys(err, "cannot find the holes in `%s`", diff);
    if (copy_range(d, b, data, hole - data, &buffered, diff, err) < 0)
      return -1;
    off = hole;
  }
  if (fsync(b) < 0)
    return err_sys(err, "cannot write `%s`", base);
  return 0;
}

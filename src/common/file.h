/* Small file helpers that report through err_t. */
#ifndef ISOLA_COMMON_FILE_H
#define ISOLA_COMMON_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Read a whole file (at most `max` bytes; larger files are an error) into a
 * NUL-terminated buffer the caller frees. */
int file_read_all(const char *path, size_t max, char **out, size_t *len, err_t *err);

/* Write `len` bytes to `path` atomically: a temporary file in the same
 * directory, then rename.  Readers see the old or the new content, never
 * a part.  `durable` also fsyncs before the rename, for files that must
 * survive a crash of the machine (not for state under /run). */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable,
                      err_t *err);

/* write() all of it, retrying on EINTR and short writes. */
int fd_write_all(int fd, const void *data, size_t len, err_t *err);
/* The same with pwrite() at `off`. */
int fd_pwrite_all(int fd, const void *data, size_t len, off_t off, err_t *err);

/* An exclusive flock on `path` (made 0600 when missing), waited for; the
 * open descriptor holds it (close to release). */
int file_lock(const char *path, err_t *err);

/* mkdir -p; existing directories are fine, existing non-directories are not. */
int mkdir_p(const char *path, mode_t mode, err_t *err);

/* "a" + "/" + "b" with exactly one slash between; caller frees. */
char *path_join(const char *a, const char *b);

/* rm -rf of our own scratch trees: symlinks are unlinked, never followed.
 * 0 when the tree is gone (or never was). */
int remove_tree(const char *path);

#endif

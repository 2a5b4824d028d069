/* Copying trees between the host and a container's root without following
 * anything the container controls: every step is an *at() call with
 * O_NOFOLLOW below a directory fd, symlinks are copied as symlinks. */
#ifndef ISOLA_COMMON_COPY_H
#define ISOLA_COMMON_COPY_H

#include "common/err.h"

/* The contents of directory `src` into directory `dst` (owners, modes and
 * times kept). */
int copy_tree_fd(int src, int dst, err_t *err);
/* One entry `name` of directory `srcdir` to `dstname` in `dstdir`:
 * a file, a symlink or a whole directory. */
int copy_entry(int srcdir, const char *name, int dstdir, const char *dstname, err_t *err);

#endif

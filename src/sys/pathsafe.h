/* Resolving paths inside a container's root so that nothing in the image
 * (absolute symlinks, `..`) can lead outside it: openat2(2) with
 * RESOLVE_IN_ROOT treats the root fd as "/" for every component. */
#ifndef ISOLA_SYS_PATHSAFE_H
#define ISOLA_SYS_PATHSAFE_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

int root_open(int rootfd, const char *path, int flags, err_t *err);

/* Create `path` below rootfd (directories on the way; the last component a
 * directory, or an empty file when `file`), and return an O_PATH fd to it. */
int root_mkpath(int rootfd, const char *path, bool file, mode_t mode, err_t *err);

/* "/proc/self/fd/N" for mount(2) targets. */
void fd_path(int fd, char buf[static 32]);

#endif

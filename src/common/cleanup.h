/* Scoped cleanup: a variable declared with one of these is released when it
 * leaves scope, so early returns on error paths cannot leak. */
#ifndef ISOLA_COMMON_CLEANUP_H
#define ISOLA_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"

static inline void cleanup_freep(void *p)
{
  free(*(void **)p);
}

static inline void cleanup_closep(const int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

static inline void cleanup_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

static inline void cleanup_strvp(char ***v)
{
  if (!*v)
    return;
  for (char **s = *v; *s; s++)
    free(*s);
  free(*v);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))
#define _cleanup_err_ __attribute__((cleanup(err_free)))

/* Hand a resource over to the caller: the cleanup then sees NULL / -1. */
static inline void *steal_ptr(void *pp)
{
  void **p = pp;
  void *v = *p;
  *p = NULL;
  return v;
}
static inline int steal_fd(int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#endif

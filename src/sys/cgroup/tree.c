/* A container's cgroup as a tree: the cgroups its processes (or an engine
 * inside it) made below its own are part of it.  cgroup.procs lists only a
 * cgroup's own members, and a cgroup with children cannot be removed, so
 * listing, killing and removing all walk the whole subtree. */
#include "sys/cgroup/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

/* Call fn on dir and on every cgroup below it: parents before children
 * (pre-order) or children first (post-order, to remove the tree).  A
 * directory that vanishes meanwhile (another delete) is skipped. */
static int walk(const char *dir, bool post_order, int (*fn)(const char *dir, void *arg),
                void *arg, err_t *err)
{
  if (!post_order && fn(dir, arg) < 0)
    return -1;
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d && errno != ENOENT)
    return err_sys(err, "cannot list cgroup `%s`", dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    _cleanup_free_ char *sub = path_join(dir, e->d_name);
    if (!sub)
      return err_sys(err, "cgroup");
    if (walk(sub, post_order, fn, arg, err) < 0)
      return -1;
  }
  if (post_order && fn(dir, arg) < 0)
    return -1;
  return 0;
}

struct pid_list {
  pid_t *v;
  size_t n, cap;
  err_t *err;
};

static int add_procs(const char *dir, void *arg)
{
  struct pid_list *l = arg;
  _cleanup_free_ char *p = path_join(dir, "cgroup.procs");
  _cleanup_free_ char *buf = NULL;
  _cleanup_err_ err_t local = NULL;
  if (file_read_all(p, 16 << 20, &buf, NULL, &local) < 0) {
    if (err_errnum(local) == ENOENT || err_errnum(local) == ENODEV)
      return 0; /* gone: no processes */
    return err_move(l->err, &local);
  }
  for (char *s = buf, *end; *s; s = end) {
    long v = strtol(s, &end, 10);
    if (end == s)
      break;
    if (l->n == l->cap) {
      size_t cap = l->cap ? 2 * l->cap : 16;
      pid_t *nv = realloc(l->v, cap * sizeof(*nv));
      if (!nv)
        return err_sys(l->err, "cgroup pids");
      l->v = nv;
      l->cap = cap;
    }
    l->v[l->n++] = (pid_t)v;
  }
  return 0;
}

/* The directory whose subtree holds every process of the container. */
static const char *procs_dir(const struct cgroup *cg)
{
  if (cg->mode == CGROUP_V2 || cg->n_v1 == 0)
    return cg->unified_dir;
  const char *d = cgroup_v1_dir(cg, "pids");
  if (!d)
    d = cgroup_v1_dir(cg, "memory");
  return d ? d : cg->v1_dirs[0];
}

int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n, err_t *err)
{
  *pids = NULL;
  *n = 0;
  if (cg->none)
    return 0;
  struct pid_list l = {.err = err};
  if (walk(procs_dir(cg), false, add_procs, &l, err) < 0) {
    free(l.v);
    return -1;
  }
  *pids = l.v;
  *n = l.n;
  return 0;
}

/* v1 freezes a child frozen on its own until it is thawed itself, and its
 * tasks act on SIGKILL only once thawed. */
static int thaw(const char *dir, void *arg)
{
  (void)arg;
  cgroup_write(dir, "freezer.state", "THAWED", NULL);
  return 0;
}

int cgroup_kill(const struct cgroup *cg, int sig, err_t *err)
{
  if (cg->none)
    return 0;
  /* Freeze first so that nothing forks while we walk the list. */
  bool froze = sig == SIGKILL && cgroup_freeze(cg, true, NULL) == 0;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int ret = cgroup_pids(cg, &pids, &n, err);
  for (size_t i = 0; ret == 0 && i < n; i++)
    if (kill(pids[i], sig) < 0 && errno != ESRCH)
      ret = err_sys(err, "cannot send signal %d to process %d", sig, (int)pids[i]);
  if (froze)
    cgroup_freeze(cg, false, NULL);
  const char *freezer = cg->mode == CGROUP_V2 ? NULL : cgroup_v1_dir(cg, "freezer");
  if (sig == SIGKILL && freezer)
    walk(freezer, false, thaw, NULL, NULL);
  return ret;
}

static int rmdir_retry(const char *dir, void *arg)
{
  err_t *err = arg;
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY)
      break;
    usleep(5000); /* the last task of a killed cgroup can take a moment to leave */
  }
  return err_sys(err, "cannot remove cgroup `%s`", dir);
}

/* Then the parents we may have created, if they are now empty (EBUSY or
 * ENOTEMPTY there is not an error: another container uses them). */
static void rmdir_parents(const char *dir, size_t base_len)
{
  _cleanup_free_ char *p = strdup(dir);
  if (!p)
    return;
  char *s;
  while ((s = strrchr(p, '/')) && (size_t)(s - p) > base_len) {
    *s = '\0';
    if (rmdir(p) < 0)
      return;
  }
}

/* Deepest first: the cgroups below the container's own, then its own. */
static int destroy_one(const char *dir, size_t base_len, err_t *err)
{
  if (walk(dir, true, rmdir_retry, err, err) < 0)
    return -1;
  rmdir_parents(dir, base_len);
  return 0;
}

int cgroup_destroy(const struct cgroup *cg, err_t *err)
{
  size_t plen = strlen(cg->path);
  int ret = 0;
  for (size_t i = 0; i < cg->n_v1; i++)
    if (destroy_one(cg->v1_dirs[i], strlen(cg->v1_dirs[i]) - plen, err) < 0)
      ret = -1;
  if (cg->unified_dir && destroy_one(cg->unified_dir, strlen(cg->unified_dir) - plen, err) < 0)
    ret = -1;
  return ret;
}

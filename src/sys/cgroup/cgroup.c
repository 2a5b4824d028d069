/* Finding the hierarchies, creating a cgroup, moving a process in and
 * freezing it (its subtree: tree.c; delegating v2 controllers: delegate.c). */
#include "sys/cgroup/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

int cgroup_write(const char *dir, const char *file, const char *value, err_t *err)
{
  _cleanup_free_ char *p = path_join(dir, file);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return err_sys(err, "cannot open cgroup file `%s` (is its controller enabled in this "
                   "hierarchy?)", p);
  if (fd < 0)
    return err_sys(err, "cannot open cgroup file `%s`", p);
  size_t n = strlen(value);
  ssize_t w = write(fd, value, n);
  if (w < 0)
    return err_sys(err, "cannot write `%s` to `%s`", value, p);
  return 0;
}

int cgroup_read(const char *dir, const char *file, char *buf, size_t len, err_t *err)
{
  _cleanup_free_ char *p = path_join(dir, file);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open cgroup file `%s`", p);
  ssize_t r = read(fd, buf, len - 1);
  if (r < 0)
    return err_sys(err, "cannot read `%s`", p);
  buf[r] = '\0';
  return (int)r;
}

static bool is_fs(const char *path, long magic)
{
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == magic;
}

int cgroup_open(const char *root, const char *path, struct cgroup *cg, err_t *err)
{
  memset(cg, 0, sizeof(*cg));
  if (!path[0]) {
    cg->none = true;
    cg->path = strdup("");
    return cg->path ? 0 : err_sys(err, "cgroup path");
  }
  if (path[0] != '/' || strstr(path, "/../") || !strcmp(path, "/") ||
      (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
    return err_make(err, EINVAL, "cgroup path `%s` must be absolute, below the root, without `..`",
                    path);
  cg->path = strdup(path);
  if (!cg->path)
    return err_sys(err, "cgroup path");
  /* A scratch tree (tests) has no cgroupfs magic: a cgroup.controllers file
   * at its top marks it as v2. */
  _cleanup_free_ char *ctl = path_join(root, "cgroup.controllers");
  if (is_fs(root, CGROUP2_SUPER_MAGIC) || access(ctl, F_OK) == 0) {
    cg->mode = CGROUP_V2;
    cg->unified_dir = path_join(root, path);
    return 0;
  }
  _cleanup_closedir_ DIR *d = opendir(root);
  if (!d)
    return err_sys(err, "cannot list cgroup hierarchies in `%s`", root);
  cg->mode = CGROUP_V1;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    _cleanup_free_ char *h = path_join(root, e->d_name);
    struct stat st;
    if (lstat(h, &st) < 0 || !S_ISDIR(st.st_mode))
      continue; /* "cpu" -> "cpu,cpuacct" symlinks are the same hierarchy */
    if (!strcmp(e->d_name, "unified") && is_fs(h, CGROUP2_SUPER_MAGIC)) {
      cg->mode = CGROUP_HYBRID;
      cg->unified_dir = path_join(h, path);
      continue;
    }
    /* Named hierarchies without a controller count too: systemd in a
     * container tracks its units in name=systemd (as runc joins it). */
    if (!is_fs(h, CGROUP_SUPER_MAGIC))
      continue;
    if (cg->n_v1 == CGROUP_MAX_HIERARCHIES)
      break;
    cg->v1_names[cg->n_v1] = strdup(e->d_name);
    cg->v1_dirs[cg->n_v1++] = path_join(h, path);
  }
  if (cg->n_v1 == 0 && !cg->unified_dir)
    return err_make(err, ENOENT, "no cgroup hierarchy is mounted under `%s`", root);
  return 0;
}

void cgroup_close(struct cgroup *cg)
{
  for (size_t i = 0; i < cg->n_v1; i++) {
    free(cg->v1_dirs[i]);
    free(cg->v1_names[i]);
  }
  free(cg->unified_dir);
  free(cg->path);
  memset(cg, 0, sizeof(*cg));
}

const char *cgroup_v1_dir(const struct cgroup *cg, const char *controller)
{
  size_t n = strlen(controller);
  for (size_t i = 0; i < cg->n_v1; i++) {
    const char *name = cg->v1_names[i];
    for (const char *p = name; (p = strstr(p, controller)); p += n)
      if ((p == name || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
        return cg->v1_dirs[i];
  }
  return NULL;
}

/* A new v1 cpuset cgroup starts with empty cpus and mems, and no task can
 * join it until they are set: copy them down from the parent, level by
 * level. */
static int cpuset_fill(const char *dir, err_t *err)
{
  _cleanup_free_ char *parent = strdup(dir);
  if (!parent)
    return err_sys(err, "cpuset");
  char *slash = strrchr(parent, '/');
  if (!slash || slash == parent)
    return 0;
  *slash = '\0';
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int i = 0; i < 2; i++) {
    char cur[4096], up[4096];
    if (cgroup_read(dir, files[i], cur, sizeof(cur), err) < 0)
      return -1;
    if (cur[0] != '\n' && cur[0] != '\0')
      continue;
    if (cgroup_read(parent, files[i], up, sizeof(up), err) < 0 ||
        cgroup_write(dir, files[i], up, err) < 0)
      return -1;
  }
  return 0;
}

static int mkdir_levels(const char *dir, size_t base_len, bool cpuset, err_t *err)
{
  _cleanup_free_ char *p = strdup(dir);
  if (!p)
    return err_sys(err, "cgroup");
  /* Another container's delete removes empty parents (rmdir_parents): a
   * parent that vanishes between our two mkdirs is made again. */
  for (int attempt = 0;; attempt++) {
    bool vanished = false;
    for (char *s = p + base_len + 1;; s++) {
      if (*s != '/' && *s != '\0')
        continue;
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0755) == 0) {
        if (cpuset && cpuset_fill(p, err) < 0)
          return -1;
      } else if (errno == ENOENT && attempt < 8) {
        *s = c;
        vanished = true;
        break;
      } else if (errno != EEXIST) {
        return err_sys(err, "cannot create cgroup `%s`", p);
      }
      *s = c;
      if (!c)
        return 0;
    }
    if (!vanished)
      return 0;
  }
}

int cgroup_create(struct cgroup *cg, err_t *err)
{
  size_t plen = strlen(cg->path);
  for (size_t i = 0; i < cg->n_v1; i++) {
    const char *d = cg->v1_dirs[i];
    bool cpuset = strstr(cg->v1_names[i], "cpuset") != NULL;
    if (mkdir_levels(d, strlen(d) - plen, cpuset, err) < 0)
      return -1;
  }
  if (cg->unified_dir) {
    const char *d = cg->unified_dir;
    size_t base = strlen(d) - plen;
    if (cg->mode == CGROUP_V2) {
      _cleanup_free_ char *root = strndup(d, base);
      if (!root || cgroup_v2_enable_controllers(root, cg->path, err) < 0)
        return -1;
    }
    if (mkdir_levels(d, base, false, err) < 0)
      return -1;
  }
  return 0;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, err_t *err)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%d", (int)pid);
  for (size_t i = 0; i < cg->n_v1; i++)
    if (cgroup_write(cg->v1_dirs[i], "cgroup.procs", buf, err) < 0)
      return -1;
  if (cg->unified_dir && cgroup_write(cg->unified_dir, "cgroup.procs", buf, err) < 0)
    return -1;
  return 0;
}

int cgroup_freeze(const struct cgroup *cg, bool freeze, err_t *err)
{
  if (cg->none)
    return err_make(err, ENOTSUP, "the container has no cgroup (rootless, no delegated cgroup): "
                    "it cannot be %s", freeze ? "paused" : "resumed");
  _cleanup_err_ err_t local = NULL;
  err_t *e = err_or(err, &local);
  int ret;
  if (cg->mode == CGROUP_V2) {
    ret = cgroup_write(cg->unified_dir, "cgroup.freeze", freeze ? "1" : "0", e);
  } else {
    const char *d = cgroup_v1_dir(cg, "freezer");
    if (!d)
      return err_make(err, ENOTSUP, "the freezer cgroup controller is not mounted");
    ret = cgroup_write(d, "freezer.state", freeze ? "FROZEN" : "THAWED", e);
    /* FREEZING means some tasks are still on their way: wait. */
    for (int i = 0; ret == 0 && freeze && i < 1000; i++) {
      char st[64];
      if (cgroup_read(d, "freezer.state", st, sizeof(st), e) < 0) {
        ret = -1;
        break;
      }
      if (!strncmp(st, "FROZEN", 6))
        break;
      usleep(1000);
    }
  }
  return ret;
}

/* A frozen cgroup stops the container's first process as soon as it enters,
 * before it can answer: `create` would wait for it forever. */
int cgroup_check_unused(const struct cgroup *cg, err_t *err)
{
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (cgroup_pids(cg, &pids, &n, err) < 0)
    return err_context(err, "cgroup `%s`", cg->path);
  if (n)
    return err_make(err, EBUSY, "cgroup `%s` is not empty: %zu process(es) found (is another "
                    "container using linux.cgroupsPath `%s`?)", cg->path, n, cg->path);
  char st[64];
  bool unified_frozen = cg->unified_dir &&
                        cgroup_read(cg->unified_dir, "cgroup.freeze", st, sizeof(st), NULL) > 0 &&
                        st[0] == '1';
  if (cgroup_frozen(cg) || unified_frozen)
    return err_make(err, EBUSY, "cgroup `%s` exists and is frozen: thaw it (%s) or remove it",
                    cg->path, unified_frozen ? "write 0 to its cgroup.freeze"
                                             : "write THAWED to its freezer.state");
  return 0;
}

bool cgroup_frozen(const struct cgroup *cg)
{
  if (cg->none)
    return false;
  char st[256];
  if (cg->mode == CGROUP_V2) {
    if (cgroup_read(cg->unified_dir, "cgroup.freeze", st, sizeof(st), NULL) < 0)
      return false;
    return st[0] == '1';
  }
  const char *d = cgroup_v1_dir(cg, "freezer");
  return d && cgroup_read(d, "freezer.state", st, sizeof(st), NULL) > 0 && !strncmp(st, "FROZEN", 6);
}

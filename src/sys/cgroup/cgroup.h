/* A control group (a container's, or a jailed VMM's), in whichever layout
 * the host has: v1 (one hierarchy per controller), v2 (unified) or hybrid (v1
 * controllers plus a cgroup2 mount at <root>/unified, as on our development
 * hosts).  Writing an OCI config's limits to it is the runtime's
 * (runtime/cgroup/apply.h). */
#ifndef ISOLA_SYS_CGROUP_CGROUP_H
#define ISOLA_SYS_CGROUP_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

enum cgroup_mode { CGROUP_V1, CGROUP_V2, CGROUP_HYBRID };

#define CGROUP_ROOT "/sys/fs/cgroup"

#define CGROUP_MAX_HIERARCHIES 16

struct cgroup {
  enum cgroup_mode mode;
  bool none; /* no cgroup at all: rootless without a delegated one */
  char *path; /* relative to each hierarchy, starts with '/' */
  /* Absolute directories of this cgroup: one per v1 hierarchy, and the
   * unified one (v2 or hybrid) last. */
  char *v1_dirs[CGROUP_MAX_HIERARCHIES];
  char *v1_names[CGROUP_MAX_HIERARCHIES]; /* "memory", "cpu,cpuacct", ... */
  size_t n_v1;
  char *unified_dir; /* NULL in pure v1 */
};

/* Fill `cg` for `path` under `root` (CGROUP_ROOT unless testing);
 * creates nothing.  An empty path gives a "none" cgroup on which every
 * operation does nothing (freeze fails, apply fails if a limit is set). */
int cgroup_open(const char *root, const char *path, struct cgroup *cg, err_t *err);
void cgroup_close(struct cgroup *cg);

/* The directory of `controller` ("memory", "cpu"...) among the v1
 * hierarchies, also when mounted together ("cpu,cpuacct"); NULL if none. */
const char *cgroup_v1_dir(const struct cgroup *cg, const char *controller);

/* Create the directories (parents too), then move `pid` in. */
int cgroup_create(struct cgroup *cg, err_t *err);
int cgroup_enter(const struct cgroup *cg, pid_t pid, err_t *err);

/* A cgroup that exists already must be free for a new container: no
 * processes, not frozen (runc refuses both). */
int cgroup_check_unused(const struct cgroup *cg, err_t *err);

/* Remove the directories, the cgroups below them first; they must be
 * empty of processes. */
int cgroup_destroy(const struct cgroup *cg, err_t *err);

/* Every process in the cgroup and in the cgroups below it. */
int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n, err_t *err);
/* Signal them all (SIGKILL: frozen first so that none can fork away). */
int cgroup_kill(const struct cgroup *cg, int sig, err_t *err);
int cgroup_freeze(const struct cgroup *cg, bool freeze, err_t *err);
bool cgroup_frozen(const struct cgroup *cg);
int cgroup_stats(const struct cgroup *cg, json_t **out, err_t *err);
/* Number of OOM kills in the cgroup so far. */
long cgroup_oom_kills(const struct cgroup *cg);

/* Enable every available controller in `root` and each ancestor of `path`
 * below it, so that the cgroup at `path` can use them (v2 only). */
int cgroup_v2_enable_controllers(const char *root, const char *path, err_t *err);

/* Write `value` to dir/file (which must exist). */
int cgroup_write(const char *dir, const char *file, const char *value, err_t *err);
int cgroup_read(const char *dir, const char *file, char *buf, size_t len, err_t *err);

#endif

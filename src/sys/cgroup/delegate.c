/* Delegating cgroup v2 controllers down to a new cgroup: a controller is
 * available in a cgroup only when every ancestor enabled it for its
 * children. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "sys/cgroup/cgroup.h"

static void enable_all(const char *dir)
{
  char avail[1024];
  if (cgroup_read(dir, "cgroup.controllers", avail, sizeof(avail), NULL) < 0)
    return;
  char *save = NULL;
  for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
    char add[64];
    snprintf(add, sizeof(add), "+%s", c);
    /* One at a time: a controller that cannot be delegated must not keep
     * the others from being enabled. */
    cgroup_write(dir, "cgroup.subtree_control", add, NULL);
  }
}

int cgroup_v2_enable_controllers(const char *root, const char *path, err_t *err)
{
  /* Every ancestor of the container's cgroup delegates its controllers to
   * its children (cgroup-v2.rst "Enabling and Disabling"). */
  _cleanup_free_ char *comps = strdup(path);
  _cleanup_free_ char *dir = strdup(root);
  if (!comps || !dir)
    return err_sys(err, "cgroup");
  char *save = NULL;
  char *c = strtok_r(comps, "/", &save);
  while (c) {
    char *next = strtok_r(NULL, "/", &save);
    enable_all(dir);
    if (!next)
      return 0;
    char *sub = path_join(dir, c);
    if (!sub)
      return err_sys(err, "cgroup");
    free(dir);
    dir = sub;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
      return err_sys(err, "cannot create cgroup `%s`", dir);
    c = next;
  }
  return 0;
}

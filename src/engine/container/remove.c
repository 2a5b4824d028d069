/* Undoing a container on the host: after its monitor died, and for good
 * (remove.h).  Above the record (ctr.h), the network attachment and the
 * volumes it releases. */
#include "engine/container/remove.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "engine/base/proc.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/volume/volume.h"

int ctr_cleanup_dead(struct ctr *c, err_t *err)
{
  const char *kill_args[] = {"kill", "--all", c->id, "KILL", NULL};
  const char *del_args[] = {"delete", "--force", c->id, NULL};
  ctr_runtime(kill_args, NULL, NULL);
  ctr_runtime(del_args, NULL, NULL);
  netctr_detach(c);
  _cleanup_free_ char *root = path_join(c->dir, "rootfs");
  proc_unmount_all(root);
  const char *s = json_string_value(json_object_get(c->state, "Status"));
  if (s && strcmp(s, "created") && strcmp(s, "exited")) {
    char now[CLOCK_RFC3339_LEN];
    clock_rfc3339(now, sizeof now);
    json_object_set_new(c->state, "Status", json_string("exited"));
    json_object_set_new(c->state, "Pid", json_integer(0));
    json_object_set_new(c->state, "MonitorPid", json_integer(0));
    if (!json_object_get(c->state, "ExitCode") || json_integer_value(json_object_get(c->state, "ExitCode")) == 0)
      json_object_set_new(c->state, "ExitCode", json_integer(137));
    json_object_set_new(c->state, "FinishedAt", json_string(now));
    json_object_set_new(c->state, "Error", json_string("the container's monitor was killed"));
    return ctr_save_state(c, err);
  }
  return 0;
}

int ctr_remove_files(struct ctr *c, bool volumes, err_t *err)
{
  const char *del[] = {"delete", "--force", c->id, NULL};
  ctr_runtime(del, NULL, NULL);
  netctr_detach(c);
  netctr_release(c->rec, c->id);
  _cleanup_free_ char *root = path_join(c->dir, "rootfs");
  proc_unmount_all(root);
  if (proc_is_mountpoint(root))
    return err_make(err, EBUSY, "the root of container %.12s is still mounted at `%s`", c->id, root);
  if (volumes) {
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Mounts"), i, m)
    {
      if (json_is_true(json_object_get(m, "Anonymous")))
        volume_remove(json_string_value(json_object_get(m, "Source")), true, NULL);
    }
  }
  remove_tree(c->rundir);
  if (remove_tree(c->dir) < 0)
    return err_sys(err, "cannot remove `%s`", c->dir);
  return 0;
}

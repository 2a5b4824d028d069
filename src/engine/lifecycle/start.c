/* Starting a container: its root, bundle and monitor, or its microVM plan
 * (lifecycle.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "engine/base/parse.h"
#include "engine/base/proc.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/container/remove.h"
#include "engine/engine.h"
#include "engine/lifecycle/lifecycle.h"
#include "engine/monitor/monitor.h"
#include "engine/monitor/restart.h"
#include "engine/vm/vm.h"

/* The state says the container runs, but its monitor died without ending it. */
static bool monitor_killed(const struct ctr *c)
{
  const char *s = json_string_value(json_object_get(c->state, "Status"));
  return json_integer_value(json_object_get(c->state, "MonitorPid")) && !ctr_monitor_pid(c) && s &&
         strcmp(s, "created") && strcmp(s, "exited");
}

/* A microVM container: the plan (vm.json), then the monitor that runs it. */
static int start_vm(struct ctr *c, bool wait_attach, int *code, err_t *err)
{
  if (vm_write_plan(c, err) < 0 || monitor_launch(c, wait_attach, code, err) < 0) {
    netctr_vm_untap(c); /* the plan may have made them before failing */
    return err_context(err, "microVM container %s cannot start", ctr_name(c));
  }
  return 0;
}

/* Mount the root, write the bundle and launch the monitor. */
int lifecycle_start(struct ctr *c, bool wait_attach, int *code, err_t *err)
{
  *code = EXIT_ENGINE;
  if (ctr_lock(c, err) < 0)
    return -1;
  if (ctr_is_running(c))
    return err_make(err, EBUSY, "container %s is already running", ctr_name(c));
  if (ctr_monitor_pid(c)) {
    /* the last run's monitor is still cleaning up (unmounting, detaching) */
    if (!lifecycle_wait_gone(c, 30))
      return err_make(err, EBUSY, "container %s: its last monitor (pid %d) is still finishing", ctr_name(c),
                      (int)ctr_monitor_pid(c));
    if (ctr_reload_state(c, err) < 0)
      return -1;
  }
  if (monitor_killed(c) && ctr_cleanup_dead(c, err) < 0)
    return -1;
  if (mkdir_p(c->rundir, 0700, err) < 0)
    return -1;
  monitor_mark_stopped(c, false);
  if (netctr_prepare(c, err) < 0)
    return err_context(err, "container %s cannot start", ctr_name(c));
  if (ctr_is_vm(c))
    return start_vm(c, wait_attach, code, err);
  _cleanup_free_ char *rootfs = path_join(c->dir, "rootfs");
  bool mounted = false;
  if (ctr_mount_rootfs(c, &mounted, err) < 0)
    return -1;
  if (bundle_write(c, rootfs, err) < 0 || monitor_launch(c, wait_attach, code, err) < 0) {
    err_context(err, "container %s cannot start", ctr_name(c));
    if (mounted)
      proc_unmount_all(rootfs);
    if (*code == 0)
      *code = EXIT_ENGINE;
    return -1;
  }
  return 0;
}

/* Removing a container (lifecycle.h). */
#include <errno.h>
#include <signal.h>

#include "common/err.h"
#include "engine/container/ctr.h"
#include "engine/container/remove.h"
#include "engine/lifecycle/lifecycle.h"
#include "engine/monitor/restart.h"
#include "engine/vm/vm.h"

int lifecycle_remove(struct ctr *c, const char *what, bool force, bool volumes, err_t *err)
{
  int r = ctr_lock(c, err);
  if (r == 0 && ctr_is_running(c)) {
    if (!force)
      r = err_make(err, EBUSY, "container %s is running: stop it first, or use `isola rm -f`", what);
    else {
      monitor_mark_stopped(c, true);
      r = lifecycle_signal(c, SIGKILL, true, err);
      if (r == 0 && !lifecycle_wait_gone(c, 30))
        r = err_make(err, ETIMEDOUT, "container %s did not die", what);
    }
  } else if (r == 0 && ctr_monitor_pid(c)) {
    /* the monitor is finishing (unmounting, removing): let it */
    lifecycle_wait_gone(c, 30);
  }
  if (r == 0 && ctr_is_vm(c))
    vm_cleanup(c);
  if (r == 0)
    r = ctr_remove_files(c, volumes, err);
  return r;
}

/* Signalling and stopping containers (lifecycle.h). */
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
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/container/remove.h"
#include "engine/container/systemd.h"
#include "engine/lifecycle/lifecycle.h"
#include "engine/monitor/restart.h"
#include "engine/vm/vm.h"

/* Wait for the monitor to finish (or for an orphaned container's process
 * to go), at most `secs` (negative: forever).  true when it did. */
bool lifecycle_wait_gone(struct ctr *c, double secs)
{
  pid_t mon = ctr_monitor_pid(c);
  uint64_t until = secs < 0 ? UINT64_MAX : clock_us(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e6);
  if (mon) {
    int pfd = (int)syscall(SYS_pidfd_open, mon, 0);
    while (clock_us(CLOCK_MONOTONIC) < until) {
      if (pfd >= 0) {
        struct pollfd p = {pfd, POLLIN, 0};
        uint64_t left = (until - clock_us(CLOCK_MONOTONIC)) / 1000;
        if (poll(&p, 1, left > 100 ? 100 : (int)left + 1) == 1) {
          close(pfd);
          return true;
        }
      } else {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
      if (!ctr_monitor_pid(c)) {
        if (pfd >= 0)
          close(pfd);
        return true;
      }
    }
    if (pfd >= 0)
      close(pfd);
    return false;
  }
  while (clock_us(CLOCK_MONOTONIC) < until) {
    if (!ctr_is_running(c))
      return true;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return false;
}

int lifecycle_signal(struct ctr *c, int sig, bool all, err_t *err)
{
  if (ctr_is_vm(c)) {
    /* without its monitor, a microVM is ended by signalling its VMM */
    json_int_t vmm = json_integer_value(json_object_get(c->state, "Pid"));
    if (!ctr_monitor_pid(c))
      return vmm > 0 && kill((pid_t)vmm, SIGKILL) < 0 && errno != ESRCH ? err_sys(err, "kill") : 0;
    return vm_signal(c, sig, err);
  }
  char s[16];
  snprintf(s, sizeof s, "%d", sig);
  const char *args[] = {"kill", all ? "--all" : c->id, all ? c->id : s, all ? s : NULL, NULL};
  char *out = NULL;
  int r = ctr_runtime(args, &out, err);
  /* between two runs of a restarting container there is nothing to signal:
   * the manual-stop mark keeps the monitor from starting it again */
  if (r != 0 && out && (strstr(out, "is not running") || strstr(out, "does not exist")))
    r = 0;
  if (r != 0 && ctr_is_running(c)) {
    err_make(err, EIO, "cannot signal container %s: %s", ctr_name(c), out ? out : "");
    free(out);
    return -1;
  }
  free(out);
  return 0;
}

static int stop_signal(struct ctr *c)
{
  const char *s = json_string_value(json_object_get(json_object_get(c->rec, "Config"), "StopSignal"));
  _cleanup_json_ json_t *img = bundle_image_config(c);
  if (!s)
    s = json_string_value(json_object_get(img, "StopSignal"));
  int sig = SIGTERM;
  if (s)
    parse_signal(s, &sig, NULL);
  else {
    _cleanup_json_ json_t *args = bundle_command(c->rec, img);
    if (systemd_wanted(json_object_get(c->rec, "HostConfig"), args))
      sig = SIGRTMIN + 3;
  }
  return sig;
}

/* Stop one container: its stop signal, then SIGKILL after `timeout`. */
int lifecycle_stop(struct ctr *c, long timeout, err_t *err)
{
  if (ctr_lock(c, err) < 0)
    return -1;
  monitor_mark_stopped(c, true);
  if (!ctr_is_running(c))
    return 0;
  if (timeout < 0)
    timeout = json_integer_value(json_object_get(json_object_get(c->rec, "Config"), "StopTimeout"))
                  ? json_integer_value(json_object_get(json_object_get(c->rec, "Config"), "StopTimeout"))
                  : 10;
  int sig = stop_signal(c);
  bool orphan = !ctr_monitor_pid(c);
  if (lifecycle_signal(c, sig, false, err) < 0)
    return -1;
  if (!lifecycle_wait_gone(c, (double)timeout)) {
    if (lifecycle_signal(c, SIGKILL, true, err) < 0)
      return -1;
    if (!lifecycle_wait_gone(c, 30))
      return err_make(err, ETIMEDOUT, "container %s did not stop after SIGKILL", ctr_name(c));
  }
  ctr_reload_state(c, NULL);
  if (orphan)
    ctr_cleanup_dead(c, NULL);
  engine_event("container", "stop", c->id, json_pack("{ss}", "name", ctr_name(c)));
  return 0;
}

int lifecycle_restart(struct ctr *c, long timeout, err_t *err)
{
  int code;
  if (lifecycle_stop(c, timeout, err) < 0)
    return -1;
  ctr_unlock(c);
  return lifecycle_start(c, false, &code, err);
}

/* The restart policy and the manual-stop mark that overrides it
 * (restart.h). */
#include "engine/monitor/restart.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "engine/container/ctr.h"

int monitor_mark_stopped(const struct ctr *c, bool stopped)
{
  _cleanup_free_ char *p = path_join(c->rundir, "manual-stop");
  if (!stopped)
    return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
  if (mkdir_p(c->rundir, 0700, NULL) < 0)
    return -1;
  int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  close(fd);
  return 0;
}

bool monitor_manually_stopped(const struct ctr *c)
{
  _cleanup_free_ char *p = path_join(c->rundir, "manual-stop");
  return access(p, F_OK) == 0;
}

bool monitor_want_restart(const struct ctr *c, int code, int restarts, bool *force)
{
  json_t *p = json_object_get(json_object_get(c->rec, "HostConfig"), "RestartPolicy");
  const char *name = json_string_value(json_object_get(p, "Name"));
  json_int_t max = json_integer_value(json_object_get(p, "MaximumRetryCount"));
  if (monitor_manually_stopped(c))
    return false;
  if (*force) {
    *force = false;
    return true;
  }
  if (!name || !strcmp(name, "no"))
    return false;
  if (!strcmp(name, "on-failure"))
    return code != 0 && (max == 0 || restarts < max);
  return true; /* always, unless-stopped */
}

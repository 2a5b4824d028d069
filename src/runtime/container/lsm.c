/* process.apparmorProfile and process.selinuxLabel: applied to the next
 * execve through /proc/thread-self/attr, when the host runs that security
 * module; on a host without it the setting cannot mean anything, and we say
 * so once instead of failing (as runc does). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/container/process.h"

bool lsm_apparmor_enabled(void)
{
  char c = 0;
  _cleanup_close_ int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

bool lsm_selinux_enabled(void)
{
  return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

static int write_attr(const char *const *paths, const char *value, const char *field, err_t *err)
{
  for (; *paths; paths++) {
    _cleanup_close_ int fd = open(*paths, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (write(fd, value, strlen(value)) < 0)
      return err_sys(err, "%s: the kernel refused `%s`", field, value);
    return 0;
  }
  return err_make(err, ENOENT, "%s: no /proc attribute to set it through", field);
}

int lsm_apply(const struct spec_process *p, err_t *err)
{
  if (p->apparmor_profile && *p->apparmor_profile) {
    if (!lsm_apparmor_enabled()) {
      log_warn("process.apparmorProfile `%s` ignored: AppArmor is not enabled on this host",
               p->apparmor_profile);
    } else {
      static const char *const at[] = {"/proc/thread-self/attr/apparmor/exec",
                                       "/proc/thread-self/attr/exec", NULL};
      char buf[512];
      snprintf(buf, sizeof(buf), "exec %s", p->apparmor_profile);
      if (write_attr(at, buf, "process.apparmorProfile", err) < 0)
        return -1;
    }
  }
  if (p->selinux_label && *p->selinux_label) {
    if (!lsm_selinux_enabled()) {
      log_warn("process.selinuxLabel `%s` ignored: SELinux is not enabled on this host",
               p->selinux_label);
    } else {
      static const char *const at[] = {"/proc/thread-self/attr/exec", NULL};
      if (write_attr(at, p->selinux_label, "process.selinuxLabel", err) < 0)
        return -1;
    }
  }
  return 0;
}

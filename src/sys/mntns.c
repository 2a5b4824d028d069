#include "sys/mntns.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

int mntns_unshare_private(err_t *err)
{
  if (unshare(CLONE_NEWNS) < 0)
    return err_sys(err, "cannot make a mount namespace");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return err_sys(err, "cannot make the mounts private");
  return 0;
}

int mntns_bind_self(const char *dir, err_t *err)
{
  if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
    return err_sys(err, "cannot bind-mount `%s` onto itself", dir);
  return 0;
}

int mntns_pivot_root(const char *dir, err_t *err)
{
  if (chdir(dir) < 0)
    return err_sys(err, "cannot enter `%s`", dir);
  /* pivot_root(".", ".") stacks the old root under the new one, then
   * unmounting "." drops it: no temporary directory is needed.  The old
   * root is made a slave first so that the unmount does not propagate to
   * the host's mounts it shares a peer group with. */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return err_sys(err, "cannot pivot_root into `%s`", dir);
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return err_sys(err, "cannot make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0)
    return err_sys(err, "cannot detach the old root");
  if (chdir("/") < 0)
    return err_sys(err, "chdir /");
  return 0;
}

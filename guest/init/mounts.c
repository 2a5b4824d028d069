#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

struct early {
  const char *src, *dst, *type;
  unsigned long flags;
  const char *data;
};

int mount_early(void)
{
  static const struct early m[] = {
      {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
      {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
      {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
      {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
      {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
      {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
    mkdir(m[i].dst, 0755);
    if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, m[i].data) < 0 && errno != EBUSY) {
      say("cannot mount %s on %s: %s", m[i].type, m[i].dst, strerror(errno));
      rc = -1;
    }
  }
  return rc;
}

/* Mount the root disk on /newroot, move the early mounts into it and make
 * it / (switch_root: the initramfs stays in memory, unreachable). */
int mount_root(const char *dev, const char *fstype, bool ro, const char *overlay)
{
  static const char *const moved[] = {"/proc", "/sys", "/dev", "/run", "/tmp"};
  mkdir("/newroot", 0755);
  for (int tries = 0; access(dev, F_OK) < 0; tries++) {
    if (tries == 50) {
      say("root disk %s did not appear", dev);
      return -1;
    }
    usleep(100 * 1000); /* the virtio-blk module may still be probing */
  }
  if (overlay) {
    /* the image read-only below, a writable disk above (isola run --vm) */
    mkdir("/lower", 0755);
    mkdir("/upperfs", 0755);
    for (int tries = 0; access(overlay, F_OK) < 0; tries++) {
      if (tries == 50) {
        say("overlay disk %s did not appear", overlay);
        return -1;
      }
      usleep(100 * 1000);
    }
    if (mount(dev, "/lower", fstype, MS_RDONLY, NULL) < 0 || mount(overlay, "/upperfs", "ext4", 0, NULL) < 0) {
      say("cannot mount %s and %s for the overlay root: %s", dev, overlay, strerror(errno));
      return -1;
    }
    mkdir("/upperfs/upper", 0755);
    mkdir("/upperfs/work", 0755);
    if (mount("overlay", "/newroot", "overlay", 0,
              "lowerdir=/lower,upperdir=/upperfs/upper,workdir=/upperfs/work") < 0) {
      say("cannot mount the overlay root: %s", strerror(errno));
      return -1;
    }
  } else if (mount(dev, "/newroot", fstype, ro ? MS_RDONLY : 0, NULL) < 0) {
    say("cannot mount %s (%s) on /: %s", dev, fstype, strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
    char dst[64] = "/newroot";
    strcat(dst, moved[i]);
    mkdir(dst, 0755);
    if (mount(moved[i], dst, NULL, MS_MOVE, NULL) < 0)
      say("cannot move %s into the root disk: %s", moved[i], strerror(errno));
  }
  if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
      chdir("/") < 0) {
    say("cannot switch to the root disk: %s", strerror(errno));
    return -1;
  }
  return 0;
}

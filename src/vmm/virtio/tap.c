#include "vmm/virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

int tap_open(const char *name, err_t *err)
{
  if (!*name || strlen(name) >= IFNAMSIZ)
    return err_make(err, EINVAL, "tap name `%s` must be 1 to %d characters", name, IFNAMSIZ - 1);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open /dev/net/tun for tap `%s`", name);
  struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
  memcpy(ifr.ifr_name, name, strlen(name));
  int hdr = TAP_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    err_sys(err, "cannot attach to tap `%s`%s", name,
            errno == EBUSY ? " (another process holds it; a tap serves one VM)" : "");
    close(fd);
    return -1;
  }
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
    err_sys(err, "cannot set the virtio-net header size on tap `%s`", name);
    close(fd);
    return -1;
  }
  return fd;
}

int tap_set_offload(int fd, bool csum, bool tso4, bool tso6, err_t *err)
{
  unsigned flags = 0;
  if (csum) {
    flags |= TUN_F_CSUM;
    if (tso4)
      flags |= TUN_F_TSO4;
    if (tso6)
      flags |= TUN_F_TSO6;
  }
  if (ioctl(fd, TUNSETOFFLOAD, flags) < 0)
    return err_sys(err, "cannot set tap offloads 0x%x", flags);
  return 0;
}

/* Documentation/networking/tuntap.rst: TUNSETIFF makes the device,
 * TUNSETPERSIST keeps it after the descriptor closes. */
#include "net/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"

int tap_create(const char *name, err_t *err)
{
  _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open /dev/net/tun");
  struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0)
    return err_sys(err, "cannot create tap `%s`", name);
  if (ioctl(fd, TUNSETPERSIST, 1) < 0)
    return err_sys(err, "cannot make tap `%s` persistent", name);
  return 0;
}

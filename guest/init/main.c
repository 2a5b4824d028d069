/* isola-init: PID 1 of an isola microVM (issue #6).
 *
 *   mounts /proc, /sys, /dev, /dev/pts, /run, /tmp; loads the modules the
 *   initramfs lists (/lib/modules/isola.list, in dependency order: a stock
 *   distribution kernel has its virtio drivers as modules); configures the
 *   network from the command line (isola.ip=A.B.C.D/N isola.gw= isola.dns=
 *   isola.ifname=, default eth0); mounts the root disk (isola.root=/dev/vda
 *   isola.rootfstype=ext4 isola.rootro=1; isola.overlay=/dev/vdb puts a
 *   writable ext4 disk over it with overlayfs) and makes it /; sets the hostname
 *   (isola.hostname=); then serves the agent protocol (proto.h) on vsock port
 *   1024 until the host asks it to power off, and powers off cleanly.
 *
 *   isola-init --agent unix:PATH   serves the protocol on a Unix socket
 *                                  instead, as an ordinary process (tests);
 *                                  after a poweroff request it exits once
 *                                  every connection has ended
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "proto.h"

void say(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("isola-init: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void read_cmdline(void)
{
  char buf[4096] = {0};
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
  }
  cmdline_load(buf);
}

static void power_off(void)
{
  say("powering off");
  kill(-1, SIGTERM);
  sleep(1);
  kill(-1, SIGKILL);
  sync();
  umount2("/", MNT_DETACH);
  reboot(RB_POWER_OFF);
  for (;;)
    pause();
}

static const char *get(const char *key, const char *def)
{
  const char *v = cmdline_get(key);
  return v ? v : def;
}

int main(int argc, char **argv)
{
  if (argc >= 3 && !strcmp(argv[1], "--"))
    return reaper_main(argv + 2);
  if (argc == 3 && !strcmp(argv[1], "--agent") && !strncmp(argv[2], "unix:", 5)) {
    int fd = agent_listen_unix(argv[2] + 5);
    if (fd < 0)
      return 1;
    printf("isola-init: ready\n");
    fflush(stdout);
    agent_serve(fd);
    unlink(argv[2] + 5);
    /* Handlers still ending (each reads until its host closes, agent.c
     * finish()) are ours to wait for: exiting first would leave them
     * running, adopted by whoever reaps orphans on this host. */
    while (wait(NULL) > 0 || errno == EINTR) {
    }
    return 0;
  }
  if (getpid() != 1) {
    fputs("usage: isola-init is PID 1 of a microVM; `isola-init --agent unix:PATH` serves its\n"
          "agent protocol on a Unix socket for tests; `isola-init -- CMD...` is a minimal init\n"
          "for containers (signals forwarded, zombies reaped)\n", stderr);
    return 2;
  }
  mount_early();
  int console = open("/dev/console", O_RDWR | O_CLOEXEC);
  if (console >= 0) {
    dup2(console, 1);
    dup2(console, 2);
  }
  read_cmdline();
  say("starting");
  modules_load("/lib/modules/isola.list");
  if (net_configure(get("isola.ifname", "eth0"), cmdline_get("isola.ip"), cmdline_get("isola.gw"),
                    cmdline_get("isola.dns")) == 0 && cmdline_get("isola.ip"))
    say("network %s on %s", cmdline_get("isola.ip"), get("isola.ifname", "eth0"));
  const char *root = cmdline_get("isola.root");
  if (root && mount_root(root, get("isola.rootfstype", "ext4"), cmdline_get("isola.rootro"),
                         cmdline_get("isola.overlay")) == 0)
    say("root %s mounted", root);
  const char *host = cmdline_get("isola.hostname");
  if (host)
    sethostname(host, strlen(host));
  int fd = agent_listen_vsock(AGENT_VSOCK_PORT);
  if (fd >= 0) {
    say("ready");
    agent_serve(fd);
  }
  power_off();
}

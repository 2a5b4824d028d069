/* isola-init: PID 1 of an isola microVM.  Each file is one step of its
 * work; they report failures on the console and return -1, and main()
 * decides what is fatal. */
#ifndef ISOLA_INIT_H
#define ISOLA_INIT_H

#include <stdbool.h>
#include <stddef.h>

/* cmdline.c: "key=value" words of /proc/cmdline (or of a test string). */
void cmdline_load(const char *text);
const char *cmdline_get(const char *key); /* NULL when absent */

/* mounts.c */
int mount_early(void);                 /* /proc /sys /dev /dev/pts /run /tmp */
/* and switch to it; with `overlay` (a disk), an overlayfs of the two */
int mount_root(const char *dev, const char *fstype, bool ro, const char *overlay);

/* modules.c: load the modules listed in `list` (one path per line, in
 * dependency order). */
int modules_load(const char *list);

/* netcfg.c: bring up lo and `ifname` with `cidr`, a default route via
 * `gw` (NULL: none), and resolv.conf naming `dns` (NULL: none). */
int net_configure(const char *ifname, const char *cidr, const char *gw, const char *dns);

/* agent.c: serve the protocol of proto.h on `listen_fd` until a poweroff
 * request; returns then. */
int agent_listen_vsock(unsigned port);
int agent_listen_unix(const char *path);
void agent_serve(int listen_fd);

/* reaper.c: `isola-init -- CMD...`, tini's job in containers. */
int reaper_main(char **argv);

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

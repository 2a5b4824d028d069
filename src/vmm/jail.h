/* isola-vmm --jail DIR: Firecracker's jailer, in the VMM itself.  A
 * supervising parent, still root in the host's namespaces, makes the
 * cgroup isola/vmm-ID (with the limits given) and waits; the child joins a
 * network namespace if asked, enters the cgroup, takes a mount namespace of
 * its own whose root is DIR (pivot_root; a tmpfs /dev holding only kvm and
 * net/tun), and drops to the uid and gid given.  Every path the VMM is then
 * given (kernel, disks, sockets, snapshots) is inside DIR.  When the child
 * ends, the parent removes the cgroup (a stale one from a killed parent is
 * removed by the next jail of that id) and exits with the child's status;
 * the signals the VMM handles are passed on to it. */
#ifndef ISOLA_VMM_JAIL_H
#define ISOLA_VMM_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

#define JAIL_MAX_CGROUP 16

struct jail_config {
  const char *dir;   /* NULL: no jail */
  const char *id;    /* names the cgroup; default: the parent's PID */
  const char *netns; /* a network namespace file to join, or NULL */
  uid_t uid;
  gid_t gid;
  const char *cgroup[JAIL_MAX_CGROUP]; /* "memory.limit_in_bytes=512M" */
  int ncgroup;
  const char *cgroup_root; /* CGROUP_ROOT unless testing */
};

/* Parse "FILE=VALUE" for --jail-cgroup into j (checked: a file name with a
 * controller prefix, no slashes). */
int jail_add_cgroup(struct jail_config *j, const char *arg, err_t *err);

/* 0: this is the jailed child, go on; 1: this is the parent and the child
 * has ended, *status is what to exit with; -1: no jail (nothing is left
 * behind). */
int jail_enter(const struct jail_config *j, int *status, err_t *err);

#endif

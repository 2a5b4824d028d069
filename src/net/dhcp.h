/* Addresses from a LAN's DHCP server for containers on bridged and
 * macvlan networks, as Podman's dhcp proxy does: busybox's udhcpc runs in
 * the container's network namespace for as long as the container, and
 * calls back the isola binary (ISOLA_DHCP_HOOK set in its environment) on
 * each lease, which configures the interface over rtnetlink. */
#ifndef ISOLA_NET_DHCP_H
#define ISOLA_NET_DHCP_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

struct dhcp_opts {
  const char *ifname, *hostname;
  const char *hook;   /* the executable udhcpc runs on events */
  const char *ready;  /* made by the hook once an address is bound */
  const char *resolv; /* NULL, or the file to write the lease's DNS into */
  bool default_route;
};

/* Start the client in the namespace behind nsfd and wait (up to
 * timeout_ms) for its first lease; its PID in *pid. */
int dhcp_client_start(int nsfd, const struct dhcp_opts *o, int timeout_ms, pid_t *pid, err_t *err);

/* The hook's work for udhcpc's event (bound, renew, deconfig…), from the
 * variables udhcpc puts in the environment. */
int dhcp_hook(const char *event, err_t *err);

#endif

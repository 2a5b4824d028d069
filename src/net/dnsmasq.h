/* One dnsmasq per NAT network, as libvirt and Incus run it: DNS for the
 * members' names (DIR/hosts, "IP NAME" lines, read again on SIGHUP), DHCP
 * with one static lease per member (DIR/dhcp-hosts, "MAC,IP"), forwarding
 * of other names to the host's resolvers.  DIR is the network's run
 * directory; dnsmasq's PID is in DIR/dnsmasq.pid.
 *
 * Supervision without a daemon: every command that needs the network
 * calls dnsmasq_sync, which restarts a dnsmasq that died. */
#ifndef ISOLA_NET_DNSMASQ_H
#define ISOLA_NET_DNSMASQ_H

#include <jansson.h>
#include <sys/types.h>

#include "common/err.h"

#define NET_DNS_DOMAIN "dns.isola"

/* Write the hosts and lease files from the network's members, then start
 * dnsmasq or make the running one read them again. */
int dnsmasq_sync(const char *dir, const json_t *net, err_t *err);
/* PID of this network's live dnsmasq, 0 when none. */
pid_t dnsmasq_pid(const char *dir);
/* Stop it (SIGTERM, then SIGKILL) and remove DIR. */
void dnsmasq_stop(const char *dir);

#endif

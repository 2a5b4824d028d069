/* The host side of the engine's networks (network.h): records in
 * ROOT/networks (src/net/store.h), the bridge and dnsmasq of a NAT network
 * under the run root. */
#include "engine/network/network.h"

#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/container/ctr.h"
#include "net/bridge.h"
#include "net/dnsmasq.h"
#include "net/store.h"

static char *network_rundir(const char *name)
{
  char rel[128];
  snprintf(rel, sizeof rel, "networks/%s", name);
  return engine_run_path(rel);
}

/* What a NAT network has on the host: bridge, dnsmasq (the nft table is
 * written by the caller). */
int network_up(const json_t *net, err_t *err)
{
  if (strcmp(net_mode(net), "nat"))
    return 0;
  _cleanup_free_ char *rd = network_rundir(net_name(net));
  if (bridge_ensure(net, err) < 0 || dnsmasq_sync(rd, net, err) < 0)
    return -1;
  return 0;
}

void network_down(const json_t *net)
{
  if (strcmp(net_mode(net), "nat"))
    return;
  _cleanup_free_ char *rd = network_rundir(net_name(net));
  dnsmasq_stop(rd);
  bridge_remove(net, NULL);
}

int network_inspect_json(const char *name, json_t **out)
{
  _cleanup_free_ char *dir = engine_path("networks");
  if (netstore_load(dir, name, out, NULL) < 0)
    return -1;
  _cleanup_free_ char *rd = network_rundir(name);
  pid_t pid = dnsmasq_pid(rd);
  if (!strcmp(net_mode(*out), "nat"))
    json_object_set_new(*out, "DnsmasqPid", json_integer(pid));
  return 0;
}

/* What the engine makes on the host for a network: a NAT network's bridge
 * and dnsmasq (the nft table is written by net_sync_rules, netctr.h). */
#ifndef ISOLA_ENGINE_NETWORK_NETWORK_H
#define ISOLA_ENGINE_NETWORK_NETWORK_H

#include <jansson.h>

#include "common/err.h"

/* Bring up what a NAT network has on the host: bridge, dnsmasq. */
int network_up(const json_t *net, err_t *err);

/* Take it down again; nothing for other modes. */
void network_down(const json_t *net);

/* A network's inspect document, for `isola inspect`; 0 when found. */
int network_inspect_json(const char *name, json_t **out);

#endif

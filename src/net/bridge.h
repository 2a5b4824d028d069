/* The bridge of a NAT network: made on first use with the gateway's
 * address, up, IPv4 forwarding on, and route_localnet so that published
 * ports answer on 127.0.0.1 too. */
#ifndef ISOLA_NET_BRIDGE_H
#define ISOLA_NET_BRIDGE_H

#include <jansson.h>

#include "common/err.h"

int bridge_ensure(const json_t *net, err_t *err);
int bridge_remove(const json_t *net, err_t *err);

#endif

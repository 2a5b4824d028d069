/* Published ports: -p [HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp] into Docker's
 * PortBindings ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}); a port
 * range maps port by port. Without HOSTPORT a free host port is chosen. */
#ifndef ISOLA_ENGINE_CONTAINER_PORTS_H
#define ISOLA_ENGINE_CONTAINER_PORTS_H

#include <jansson.h>

#include "common/err.h"

int ports_parse(const char *spec, json_t *bindings, err_t *err);
/* `isola port` lines: "80/tcp -> 0.0.0.0:8080", only `filter` ("80",
 * "80/udp") when given; malloc'd. */
char *ports_format(const json_t *bindings, const char *filter);
/* `ps`'s column: "0.0.0.0:8080->80/tcp, …" (cut to fit `n`). */
void ports_summary(const json_t *bindings, char *out, size_t n);

#endif

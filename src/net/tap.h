/* Persistent tap devices for microVMs: the engine makes one on the
 * network's bridge before the VMM starts, the VMM attaches to it by name
 * (TUNSETIFF on an existing device), and the engine deletes it after. */
#ifndef ISOLA_NET_TAP_H
#define ISOLA_NET_TAP_H

#include "common/err.h"

int tap_create(const char *name, err_t *err);

#endif

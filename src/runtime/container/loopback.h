/* Bringing up `lo` in the network namespace the caller is in. */
#ifndef ISOLA_RUNTIME_CONTAINER_LOOPBACK_H
#define ISOLA_RUNTIME_CONTAINER_LOOPBACK_H

#include "common/err.h"

int loopback_up(err_t *err);

#endif

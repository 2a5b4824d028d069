/* What `isola inspect` shows of a container. */
#ifndef ISOLA_ENGINE_CONTAINER_INSPECT_H
#define ISOLA_ENGINE_CONTAINER_INSPECT_H

#include <jansson.h>

#include "engine/container/ctr.h"

/* Docker's inspect object for a container; a new reference. */
json_t *ctr_inspect_json(struct ctr *c);

#endif

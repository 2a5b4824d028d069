/* `isola network …` and `isola port`. */
#ifndef ISOLA_ENGINE_NETWORK_H
#define ISOLA_ENGINE_NETWORK_H

#include <jansson.h>

/* A network's inspect document, for `isola inspect`; 0 when found. */
int network_inspect_json(const char *name, json_t **out);

#endif

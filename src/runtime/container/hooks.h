/* config.md "POSIX-platform Hooks": each hook runs with the container's
 * state on stdin; a non-zero exit or a timeout fails the step. */
#ifndef ISOLA_RUNTIME_CONTAINER_HOOKS_H
#define ISOLA_RUNTIME_CONTAINER_HOOKS_H

#include <jansson.h>

#include "common/err.h"
#include "runtime/spec/spec.h"

int hooks_run(const struct spec *s, enum spec_hook_kind kind, const json_t *state, err_t *err);
/* The same from the raw config (delete has no parsed spec at hand). */
int hooks_run_json(const json_t *config, enum spec_hook_kind kind, const json_t *state, err_t *err);

#endif

/* --change INSTRUCTION VALUE, as `docker commit` and `docker import` take
 * it: the Dockerfile instructions that set config (CMD, ENTRYPOINT, ENV,
 * WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL) applied to an image's execution
 * config (image_config.exec). */
#ifndef ISOLA_ENGINE_CLI_CHANGE_H
#define ISOLA_ENGINE_CLI_CHANGE_H

#include <jansson.h>

#include "common/err.h"

int change_apply(json_t *exec, const char *change, err_t *err);

#endif

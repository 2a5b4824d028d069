/* The flags of `isola run` and `isola create`, turned into a container
 * record (container.json: Docker's Config and HostConfig layout). */
#ifndef ISOLA_ENGINE_CLI_RUNOPTS_H
#define ISOLA_ENGINE_CLI_RUNOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

struct run_flags {
  bool detach, rm, sig_proxy;
  const char *name;
  const char *image;
  int argc; /* the command after the image */
  char **argv;
};

/* Parse argv (argv[0] is the command name).  *rec gets Config, HostConfig
 * and "Name"; `run` allows -d and --sig-proxy.  Errors name the flag. */
int runopts_parse(int argc, char **argv, bool run, json_t **rec, struct run_flags *f, err_t *err);

#endif

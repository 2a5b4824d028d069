/* The flags of `isola run` and `isola create`, turned into a container
 * record (container.json: Docker's Config and HostConfig layout). */
#ifndef ISOLA_ENGINE_RUNOPTS_H
#define ISOLA_ENGINE_RUNOPTS_H

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

/* "512m", "1.5g", "4096" (bytes) */
int parse_size(const char *s, const char *what, int64_t *out, err_t *err);
/* "30s", "1m30s", "500ms", "2h"; a bare number is seconds */
int parse_duration(const char *s, const char *what, int64_t *ns, err_t *err);

/* --since/--until: RFC 3339, a Unix time, or a duration back from now
 * ("10m"); seconds since the epoch. */
int parse_time(const char *s, const char *flag, double *out, err_t *err);

/* A signal by name (TERM, SIGTERM, RTMIN+3) or number. */
int parse_signal(const char *s, int *sig, err_t *err);

#endif

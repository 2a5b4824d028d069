/* What the engine shows of containers: `ps`, `inspect`, `top`, `stats`. */
#ifndef ISOLA_ENGINE_CTRINFO_H
#define ISOLA_ENGINE_CTRINFO_H

#include <stdio.h>

#include <jansson.h>

#include "engine/container/ctr.h"

/* Docker's inspect object for a container; a new reference. */
json_t *ctr_inspect_json(struct ctr *c);

/* Go-template subset for --format: text, {{.A.B}} and {{json .A.B}}. */
int format_template(const char *tpl, json_t *obj, FILE *out, err_t *err);

int cmd_ps(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_system(int argc, char **argv);

#endif

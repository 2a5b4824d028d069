/* The --format option of the listing and inspect verbs. */
#ifndef ISOLA_ENGINE_CLI_FORMAT_H
#define ISOLA_ENGINE_CLI_FORMAT_H

#include <stdio.h>

#include <jansson.h>

#include "common/err.h"

/* Go-template subset for --format: text, {{.A.B}} and {{json .A.B}}. */
int format_template(const char *tpl, json_t *obj, FILE *out, err_t *err);

#endif

/* Named volumes: ROOT/volumes/NAME/_data with NAME/volume.json beside it
 * (Docker's local driver layout). */
#ifndef ISOLA_ENGINE_VOLUME_VOLUME_H
#define ISOLA_ENGINE_VOLUME_VOLUME_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"

char *volume_data_path(const char *name);
bool volume_exists(const char *name);
/* Create the volume unless it exists; *created says which. */
int volume_ensure(const char *name, bool anonymous, bool *created, err_t *err);
/* Remove a volume and its data; refused while a container uses it. */
int volume_remove(const char *name, bool force, err_t *err);
/* A fresh random name for an anonymous volume (64 hex digits). */
void volume_new_name(char name[65]);

/* `volume inspect` of one volume; -1 when there is none. */
int volume_inspect_json(const char *name, json_t **out);

/* A volume's volume.json with its Scope; NULL when there is none. */
json_t *volume_json(const char *name);

/* The names of all volumes, NULL-terminated; *n of them.  free() each and
 * the array. */
char **volume_names(size_t *n);

/* Names of containers whose mounts use the volume; a JSON array. */
json_t *volume_users(const char *name);

/* Record the labels of a volume just created (`volume create --label`). */
void volume_set_labels(const char *name, json_t *labels);

#endif

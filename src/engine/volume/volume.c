/* Named volumes (volume.h). */
#include "engine/volume/volume.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/container/ctr.h"

static char *volume_dir(const char *name)
{
  char rel[300];
  snprintf(rel, sizeof rel, "volumes/%s", name);
  return engine_path(rel);
}

char *volume_data_path(const char *name)
{
  char rel[300];
  snprintf(rel, sizeof rel, "volumes/%s/_data", name);
  return engine_path(rel);
}

bool volume_exists(const char *name)
{
  _cleanup_free_ char *d = volume_dir(name);
  _cleanup_free_ char *meta = path_join(d, "volume.json");
  return access(meta, F_OK) == 0;
}

void volume_new_name(char name[65])
{
  ctr_new_id(name);
}

static int check_name(const char *name, err_t *err)
{
  size_t n = strlen(name);
  if (n == 0 || n > 255 || !isalnum((unsigned char)name[0]))
    goto bad;
  for (const char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
      goto bad;
  return 0;
bad:
  return err_make(err, EINVAL,
                  "`%s` is not a volume name: use letters, digits, `_`, `.` and `-`, starting with a letter or "
                  "digit",
                  name);
}

int volume_ensure(const char *name, bool anonymous, bool *created, err_t *err)
{
  *created = false;
  if (check_name(name, err) < 0)
    return -1;
  if (volume_exists(name))
    return 0;
  _cleanup_free_ char *dir = volume_dir(name);
  _cleanup_free_ char *data = path_join(dir, "_data");
  if (mkdir_p(data, 0755, err) < 0)
    return -1;
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_t *meta = json_pack("{ss ss ss ss s{} s{} sb}", "Name", name, "Driver", "local", "Mountpoint", data,
                           "CreatedAt", now, "Labels", "Options", "Anonymous", anonymous);
  _cleanup_free_ char *mp = path_join(dir, "volume.json");
  int r = json_write_path(mp, meta, JSON_INDENT(2), true, err);
  json_decref(meta);
  if (r < 0)
    return -1;
  *created = true;
  engine_event("volume", "create", name, NULL);
  return 0;
}

/* Names of containers whose mounts use the volume; a JSON array. */
json_t *volume_users(const char *name)
{
  json_t *users = json_array();
  char **ids;
  size_t n;
  if (ctr_list(&ids, &n, NULL) < 0)
    return users;
  for (size_t i = 0; i < n; i++) {
    struct ctr c;
    if (ctr_open_id(ids[i], &c, NULL) < 0)
      continue;
    size_t k;
    json_t *m;
    json_array_foreach(json_object_get(json_object_get(c.rec, "HostConfig"), "Mounts"), k, m)
    {
      if (!strcmp(json_string_value(json_object_get(m, "Type")), "volume") &&
          !strcmp(json_string_value(json_object_get(m, "Source")), name)) {
        json_array_append_new(users, json_string(ctr_name(&c)));
        break;
      }
    }
    ctr_close(&c);
  }
  cleanup_strvp(&ids);
  return users;
}

int volume_remove(const char *name, bool force, err_t *err)
{
  if (check_name(name, err) < 0)
    return -1;
  if (!volume_exists(name))
    return force ? 0 : err_make(err, ENOENT, "no such volume: `%s` (see `isola volume ls`)", name);
  _cleanup_json_ json_t *users = volume_users(name);
  if (json_array_size(users)) {
    _cleanup_free_ char *list = json_dumps(users, JSON_COMPACT);
    /* an anonymous volume removed with its container is not in use */
    if (!force || json_array_size(users) > 1)
      return err_make(err, EBUSY, "volume `%s` is in use by container(s) %s: remove them first", name, list);
  }
  _cleanup_free_ char *dir = volume_dir(name);
  if (remove_tree(dir) < 0)
    return err_sys(err, "cannot remove `%s`", dir);
  engine_event("volume", "destroy", name, NULL);
  return 0;
}

json_t *volume_json(const char *name)
{
  _cleanup_free_ char *dir = volume_dir(name);
  _cleanup_free_ char *mp = path_join(dir, "volume.json");
  json_t *meta = NULL;
  if (json_load_path(mp, &meta, NULL) < 0)
    return NULL;
  json_object_set_new(meta, "Scope", json_string("local"));
  return meta;
}

char **volume_names(size_t *n)
{
  _cleanup_free_ char *dir = engine_path("volumes");
  _cleanup_closedir_ DIR *d = opendir(dir);
  char **names = calloc(1, sizeof *names);
  *n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' || !volume_exists(e->d_name))
      continue;
    char **grown = realloc(names, (*n + 2) * sizeof *names);
    if (!grown)
      break;
    names = grown;
    names[(*n)++] = strdup(e->d_name);
    names[*n] = NULL;
  }
  return names;
}

int volume_inspect_json(const char *name, json_t **out)
{
  *out = volume_exists(name) ? volume_json(name) : NULL;
  return *out ? 0 : -1;
}

void volume_set_labels(const char *name, json_t *labels)
{
  json_t *meta = volume_json(name);
  json_object_del(meta, "Scope");
  json_object_set(meta, "Labels", labels);
  _cleanup_free_ char *dir = volume_dir(name);
  _cleanup_free_ char *mp = path_join(dir, "volume.json");
  json_write_path(mp, meta, JSON_INDENT(2), true, NULL);
  json_decref(meta);
}

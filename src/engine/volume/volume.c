/* Named volumes and `isola volume` (volume.h). */
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
#include "engine/engine.h"

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
static json_t *users_of(const char *name)
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
  _cleanup_json_ json_t *users = users_of(name);
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

static json_t *volume_json(const char *name)
{
  _cleanup_free_ char *dir = volume_dir(name);
  _cleanup_free_ char *mp = path_join(dir, "volume.json");
  json_t *meta = NULL;
  if (json_load_path(mp, &meta, NULL) < 0)
    return NULL;
  json_object_set_new(meta, "Scope", json_string("local"));
  return meta;
}

static char **volume_names(size_t *n)
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

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

static int vol_create(int argc, char **argv)
{
  _cleanup_err_ err_t err = NULL;
  static const struct option opts[] = {{"label", required_argument, NULL, 'l'},
                                       {"driver", required_argument, NULL, 'd'},
                                       {"ignore", no_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
  int c;
  bool ignore = false;
  json_t *labels = json_object();
  optind = 1;
  while ((c = getopt_long(argc, argv, "+l:d:", opts, NULL)) != -1) {
    if (c == 'l') {
      char *eq = strchr(optarg, '=');
      if (eq)
        *eq = 0;
      json_object_set_new(labels, optarg, json_string(eq ? eq + 1 : ""));
    } else if (c == 'd') {
      if (strcmp(optarg, "local")) {
        json_decref(labels);
        err_make(&err, ENOTSUP, "volume driver `%s`: only `local` exists", optarg);
        return fail(&err);
      }
    } else if (c == 'i') {
      ignore = true;
    } else {
      json_decref(labels);
      fprintf(stderr, "Usage: isola volume create [--label K=V] [NAME]\n");
      return EXIT_ENGINE;
    }
  }
  char anon[65];
  const char *name = optind < argc ? argv[optind] : NULL;
  if (!name) {
    volume_new_name(anon);
    name = anon;
  }
  bool created;
  if (volume_exists(name) && !ignore) {
    json_decref(labels);
    err_make(&err, EEXIST, "volume `%s` exists already", name);
    return fail(&err);
  }
  if (volume_ensure(name, false, &created, &err) < 0) {
    json_decref(labels);
    return fail(&err);
  }
  if (created && json_object_size(labels)) {
    json_t *meta = volume_json(name);
    json_object_del(meta, "Scope");
    json_object_set(meta, "Labels", labels);
    _cleanup_free_ char *dir = volume_dir(name);
    _cleanup_free_ char *mp = path_join(dir, "volume.json");
    json_write_path(mp, meta, JSON_INDENT(2), true, NULL);
    json_decref(meta);
  }
  json_decref(labels);
  printf("%s\n", name);
  return 0;
}

static int vol_ls(int argc, char **argv)
{
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'}, {"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  bool quiet = false, json = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
    if (c == 'q')
      quiet = true;
    else if (c == 'f' && !strcmp(optarg, "json"))
      json = true;
    else {
      fprintf(stderr, "Usage: isola volume ls [-q] [--format json]\n");
      return EXIT_ENGINE;
    }
  }
  size_t n;
  char **names = volume_names(&n);
  json_t *all = json_array();
  if (!quiet && !json)
    printf("%-10s %s\n", "DRIVER", "VOLUME NAME");
  for (size_t i = 0; i < n; i++) {
    if (quiet)
      printf("%s\n", names[i]);
    else if (!json)
      printf("%-10s %s\n", "local", names[i]);
    else {
      json_t *v = volume_json(names[i]);
      if (v)
        json_array_append_new(all, v);
    }
  }
  if (json) {
    char *s = json_dumps(all, JSON_INDENT(4));
    printf("%s\n", s);
    free(s);
  }
  json_decref(all);
  cleanup_strvp(&names);
  return 0;
}

int volume_inspect_json(const char *name, json_t **out)
{
  *out = volume_exists(name) ? volume_json(name) : NULL;
  return *out ? 0 : -1;
}

static int vol_inspect(int argc, char **argv)
{
  json_t *all = json_array();
  int status = 0;
  for (int i = 1; i < argc; i++) {
    json_t *v = volume_exists(argv[i]) ? volume_json(argv[i]) : NULL;
    if (!v) {
      log_error("no such volume: `%s`", argv[i]);
      status = EXIT_ENGINE;
      continue;
    }
    json_array_append_new(all, v);
  }
  char *s = json_dumps(all, JSON_INDENT(4));
  printf("%s\n", s);
  free(s);
  json_decref(all);
  return status;
}

static int vol_rm(int argc, char **argv)
{
  bool force = false;
  int c;
  optind = 1;
  while ((c = getopt(argc, argv, "+f")) != -1) {
    if (c != 'f') {
      fprintf(stderr, "Usage: isola volume rm [-f] VOLUME...\n");
      return EXIT_ENGINE;
    }
    force = true;
  }
  int status = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_err_ err_t err = NULL;
    if (volume_remove(argv[i], false, &err) < 0 && !(force && err_errnum(err) == ENOENT)) {
      log_err(err);
      status = EXIT_ENGINE;
    } else {
      printf("%s\n", argv[i]);
    }
  }
  return status;
}

static int vol_prune(int argc, char **argv)
{
  size_t n;
  char **names = volume_names(&n);
  bool all = false;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-a") || !strcmp(argv[i], "--all"))
      all = true;
  for (size_t i = 0; i < n; i++) {
    _cleanup_json_ json_t *users = users_of(names[i]);
    _cleanup_json_ json_t *meta = volume_json(names[i]);
    /* like Docker 23+: prune takes anonymous volumes unless --all */
    if (json_array_size(users) || (!all && !json_is_true(json_object_get(meta, "Anonymous"))))
      continue;
    if (volume_remove(names[i], true, NULL) == 0)
      printf("%s\n", names[i]);
  }
  cleanup_strvp(&names);
  return 0;
}

int cmd_volume(int argc, char **argv)
{
  static const char usage[] = "Usage: isola volume create|ls|inspect|rm|prune ...\n";
  if (argc < 2) {
    fputs(usage, stderr);
    return EXIT_ENGINE;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "create"))
    return vol_create(argc - 1, argv + 1);
  if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
    return vol_ls(argc - 1, argv + 1);
  if (!strcmp(sub, "inspect"))
    return vol_inspect(argc - 1, argv + 1);
  if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
    return vol_rm(argc - 1, argv + 1);
  if (!strcmp(sub, "prune"))
    return vol_prune(argc - 1, argv + 1);
  fprintf(stderr, "isola volume: unknown command `%s`\n%s", sub, usage);
  return EXIT_ENGINE;
}

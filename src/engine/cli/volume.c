/* isola volume create, ls, inspect, rm, prune: flags over volume/volume.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/cli/commands.h"
#include "engine/cli/group.h"
#include "engine/engine.h"
#include "engine/volume/volume.h"

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
    volume_set_labels(name, labels);
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
    _cleanup_json_ json_t *users = volume_users(names[i]);
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
  static const struct cli_sub subs[] = {
      {"create", NULL, vol_create}, {"ls", "list", vol_ls},   {"inspect", NULL, vol_inspect},
      {"rm", "remove", vol_rm},     {"prune", NULL, vol_prune}, {NULL, NULL, NULL},
  };
  return cli_group("volume", "Usage: isola volume create|ls|inspect|rm|prune ...\n", subs, argc, argv);
}

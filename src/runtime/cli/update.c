/* update: new resource limits from --resources (a linux.resources JSON
 * document, "-" for stdin) or from runc's flag forms. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/globals.h"
#include "runtime/container/container.h"

static json_t *section(json_t *r, const char *key)
{
  json_t *s = json_object_get(r, key);
  if (!s)
    json_object_set_new(r, key, s = json_object());
  return s;
}

static int set_num(json_t *r, const char *sec, const char *key, const char *v)
{
  char *end;
  long long n = strtoll(v, &end, 10);
  if (!*v || *end) {
    log_error("update: `%s` is not a number (for %s.%s)", v, sec, key);
    return -1;
  }
  json_object_set_new(section(r, sec), key, json_integer(n));
  return 0;
}

int cmd_update(int argc, char **argv)
{
  static const struct option opts[] = {
      {"resources", required_argument, NULL, 'r'},
      {"memory", required_argument, NULL, 'm'},
      {"memory-swap", required_argument, NULL, 's'},
      {"memory-reservation", required_argument, NULL, 'R'},
      {"cpu-shares", required_argument, NULL, 'S'},
      {"cpu-quota", required_argument, NULL, 'Q'},
      {"cpu-period", required_argument, NULL, 'P'},
      {"cpuset-cpus", required_argument, NULL, 'C'},
      {"cpuset-mems", required_argument, NULL, 'M'},
      {"pids-limit", required_argument, NULL, 'p'},
      {"blkio-weight", required_argument, NULL, 'b'},
      {NULL, 0, NULL, 0},
  };
  json_t *r = json_object();
  const char *file = NULL;
  err_t err = NULL;
  int c, status = 1;
  /* 0, not 1: getopt starts afresh and permutes (main's "+" stopped it at
   * the command), so options may follow the id, as runc accepts. */
  optind = 0;
  while ((c = getopt_long_only(argc, argv, "r:", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'r': file = optarg; break;
    case 'm': bad = set_num(r, "memory", "limit", optarg); break;
    case 's': bad = set_num(r, "memory", "swap", optarg); break;
    case 'R': bad = set_num(r, "memory", "reservation", optarg); break;
    case 'S': bad = set_num(r, "cpu", "shares", optarg); break;
    case 'Q': bad = set_num(r, "cpu", "quota", optarg); break;
    case 'P': bad = set_num(r, "cpu", "period", optarg); break;
    case 'C': json_object_set_new(section(r, "cpu"), "cpus", json_string(optarg)); break;
    case 'M': json_object_set_new(section(r, "cpu"), "mems", json_string(optarg)); break;
    case 'p': bad = set_num(r, "pids", "limit", optarg); break;
    case 'b': bad = set_num(r, "blockIO", "weight", optarg); break;
    default: bad = -1;
    }
    if (bad)
      goto out;
  }
  const char *id = cli_one_id(argc, argv, optind, "update");
  if (!id)
    goto out;
  if (file) {
    json_t *doc = NULL;
    if (!strcmp(file, "-")) {
      json_error_t je;
      doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
      if (!doc) {
        log_error("--resources -: line %d, column %d: %s", je.line, je.column, je.text);
        goto out;
      }
    } else if (json_load_path(file, &doc, &err) < 0) {
      status = cli_fail(&err);
      goto out;
    }
    json_object_update_recursive(doc, r); /* flags win over the file */
    json_decref(r);
    r = doc;
  }
  status = container_update(runtime_globals.root, id, r, &err) < 0 ? cli_fail(&err) : 0;
out:
  json_decref(r);
  return status;
}

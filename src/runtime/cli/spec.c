/* spec: write the default config.json (runtime/spec/default.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "config.h"
#include "runtime/cli/commands.h"
#include "runtime/spec/default.h"

int cmd_spec(int argc, char **argv)
{
  static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                       {"rootless", no_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
  const char *bundle = ".";
  bool rootless = false;
  int c;
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "b:", opts, NULL)) != -1) {
    if (c == 'b')
      bundle = optarg;
    else if (c == 'r')
      rootless = true;
    else
      return 1;
  }
  char *path = path_join(bundle, "config.json");
  if (access(path, F_OK) == 0) {
    log_error("`%s` exists already: remove it first", path);
    free(path);
    return 1;
  }
  json_t *spec = spec_default(rootless);
  err_t err = NULL;
  int r = json_write_path(path, spec, JSON_INDENT(2), true, &err);
  json_decref(spec);
  free(path);
  return r < 0 ? cli_fail(&err) : 0;
}

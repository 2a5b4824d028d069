#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runtime/cli/commands.h"

int cli_fail(err_t *err)
{
  log_err(err_get(err));
  err_free(err);
  return 1;
}

const char *cli_one_id(int argc, char **argv, int optind_, const char *cmd)
{
  if (argc - optind_ != 1) {
    log_error("`%s` takes exactly one container id (got %d arguments)", cmd, argc - optind_);
    return NULL;
  }
  return argv[optind_];
}

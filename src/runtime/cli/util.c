#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "runtime/cli/commands.h"

int cli_fail(err_t *err)
{
  log_err(*err);
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

int cli_parse_signal(const char *s)
{
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end)
    return n > 0 && n < NSIG ? (int)n : -1;
  if (!strncasecmp(s, "SIG", 3))
    s += 3;
  if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
    int base = !strncasecmp(s, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
    long off = s[5] ? strtol(s + 5, &end, 10) : 0;
    if (*end)
      return -1;
    int sig = base + (int)off;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  for (int i = 1; i < SIGRTMIN; i++) {
    const char *abbrev = sigabbrev_np(i);
    if (abbrev && !strcasecmp(abbrev, s))
      return i;
  }
  return -1;
}

#include "common/cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commit.h"
#include "config.h"
#include "common/log.h"

void cli_print_version(FILE *out, const char *prog, const char *extra)
{
  fprintf(out, "%s version %s\ncommit: %s\n%s", prog, ISOLA_VERSION, ISOLA_COMMIT,
          extra ? extra : "");
}

void cli_print_commands(FILE *out, const struct cli_cmd *cmds)
{
  fputs("Commands:\n", out);
  for (const struct cli_cmd *c = cmds; c->name; c++)
    fprintf(out, "  %-10s %s%s\n", c->name, c->summary, c->run ? "" : " (not implemented yet)");
}

const struct cli_cmd *cli_find(const struct cli_cmd *cmds, const char *name)
{
  for (const struct cli_cmd *c = cmds; c->name; c++)
    if (!strcmp(c->name, name))
      return c;
  return NULL;
}

int cli_dispatch(const char *prog, const struct cli_cmd *cmds, int argc, char **argv,
                 int usage_status)
{
  if (argc < 1) {
    log_error("no command given; run `%s --help` for the list", prog);
    return usage_status;
  }
  const struct cli_cmd *c = cli_find(cmds, argv[0]);
  if (!c) {
    log_error("unknown command `%s`; run `%s --help` for the list", argv[0], prog);
    return usage_status;
  }
  if (!c->run) {
    log_error("`%s` is not implemented yet (see the status table in README.md)", c->name);
    return usage_status;
  }
  return c->run(argc, argv);
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

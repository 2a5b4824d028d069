/* What the three command-line front doors share: version text and a table
 * of subcommands.  Each command's own file parses its arguments. */
#ifndef ISOLA_COMMON_CLI_H
#define ISOLA_COMMON_CLI_H

#include <stdio.h>

#include "common/err.h"

struct cli_cmd {
  const char *name;
  const char *summary;
  /* argv[0] is the command name.  Returns the process exit status.  NULL
   * means the command is planned but not built yet: the dispatcher says so. */
  int (*run)(int argc, char **argv);
};

/* "PROG version X\ncommit: Y\n" then the extra lines (may be NULL). */
void cli_print_version(FILE *out, const char *prog, const char *extra);

/* Lists the commands, marking the ones not built yet. */
void cli_print_commands(FILE *out, const struct cli_cmd *cmds);

const struct cli_cmd *cli_find(const struct cli_cmd *cmds, const char *name);

/* Run argv[0] from the table.  Unknown and unbuilt commands log a clear
 * message and return `usage_status`. */
int cli_dispatch(const char *prog, const struct cli_cmd *cmds, int argc, char **argv,
                 int usage_status);

/* A signal by name (KILL, SIGTERM, RTMIN+3) or number; -1 if none. */
int cli_parse_signal(const char *s);

#endif

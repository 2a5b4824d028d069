/* One function per isola-runtime command; each file parses its flags and
 * calls the container library. */
#ifndef ISOLA_RUNTIME_CLI_COMMANDS_H
#define ISOLA_RUNTIME_CLI_COMMANDS_H

#include <stdbool.h>

#include "common/cli.h"
#include "common/err.h"

int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_features(int argc, char **argv);

/* Re-exec from a sealed memfd copy unless already running from one
 * (CVE-2019-5736).  Returns only when nothing had to be done, or on error. */
int sealed_exe_reexec(char **argv, char **envp, err_t *err);

/* Log the error (to --log when given), free it, return exit status 1. */
int cli_fail(err_t *err);
/* Exactly one positional argument, the container id. */
const char *cli_one_id(int argc, char **argv, int optind_, const char *cmd);

#endif

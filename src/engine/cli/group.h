/* The one dispatcher of the verb groups (`isola network|volume|image|system
 * SUB ...`), so that they all answer a missing or unknown subcommand the
 * same way. */
#ifndef ISOLA_ENGINE_CLI_GROUP_H
#define ISOLA_ENGINE_CLI_GROUP_H

struct cli_sub {
  const char *name;
  const char *alias; /* another name for it (ls: list), or NULL */
  /* argv[0] is the subcommand.  Returns the process exit status. */
  int (*run)(int argc, char **argv);
};

/* argv[0] is the group, argv[1] the subcommand: runs it from subs (ended by
 * a NULL name) with argv + 1.  None or an unknown one prints usage to stderr
 * (naming the unknown one) and returns EXIT_ENGINE. */
int cli_group(const char *group, const char *usage, const struct cli_sub *subs, int argc, char **argv);

#endif

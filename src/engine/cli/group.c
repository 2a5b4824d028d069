/* Subcommand dispatch of the verb groups (group.h). */
#include "engine/cli/group.h"

#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

int cli_group(const char *group, const char *usage, const struct cli_sub *subs, int argc, char **argv)
{
  if (argc < 2) {
    fputs(usage, stderr);
    return EXIT_ENGINE;
  }
  const char *sub = argv[1];
  for (const struct cli_sub *s = subs; s->name; s++)
    if (!strcmp(sub, s->name) || (s->alias && !strcmp(sub, s->alias)))
      return s->run(argc - 1, argv + 1);
  fprintf(stderr, "isola %s: unknown command `%s`\n%s", group, sub, usage);
  return EXIT_ENGINE;
}

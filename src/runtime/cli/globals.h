/* Global options of isola-runtime, given before the command as runc and crun
 * take them (`isola-runtime --root R --log L --log-format json create ...`). */
#ifndef ISOLA_RUNTIME_CLI_GLOBALS_H
#define ISOLA_RUNTIME_CLI_GLOBALS_H

#include <stdbool.h>

struct runtime_globals {
  const char *root;     /* state directory; default /run/isola/runtime */
  const char *log_path; /* NULL: stderr */
  bool debug;
  bool systemd_cgroup;
};

extern struct runtime_globals runtime_globals;

#endif

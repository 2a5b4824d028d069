/* microVM containers (vm.h). */
#include "engine/vm.h"

#include <errno.h>

#include "engine/engine.h"

int vm_start(struct ctr *c, bool wait_attach, int *code, err_t *err)
{
  *code = EXIT_ENGINE;
  return err_make(err, ENOTSUP, "--vm is not built yet");
}

int vm_signal(struct ctr *c, int sig, err_t *err)
{
  return err_make(err, ENOTSUP, "--vm is not built yet");
}

void vm_cleanup(struct ctr *c)
{
}

int vm_exec(struct ctr *c, int argc, char **argv, const char **env, size_t nenv, const char *cwd,
            bool interactive, bool tty, err_t *err)
{
  return err_make(err, ENOTSUP, "--vm is not built yet");
}

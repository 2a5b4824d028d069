#include "runtime/container/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The state goes to the hook's stdin from a memfd, not a pipe: a hook that
 * exits without reading it (/bin/false) would otherwise kill us with SIGPIPE
 * (or give EPIPE) when it is faster than our write, and one that does not
 * read a state larger than a pipe holds would block us before its timeout
 * starts. */
static int state_fd(const char *state, err_t *err)
{
  _cleanup_close_ int fd = memfd_create("isola-hook-state", MFD_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "memfd_create");
  if (fd_write_all(fd, state, strlen(state), err) < 0)
    return -1;
  if (lseek(fd, 0, SEEK_SET) < 0)
    return err_sys(err, "lseek");
  return steal_fd(&fd);
}

static int run_one(const struct spec_hook *h, const char *kind, size_t i, const char *state,
                   err_t *err)
{
  _cleanup_close_ int in = state_fd(state, err);
  if (in < 0)
    return err_context(err, "hooks.%s[%zu]: cannot pass the state", kind, i);
  char *fallback[] = {(char *)h->path, NULL};
  /* A hook without `env` runs with runc's PATH (runc's hooks inherit its
   * whole environment; only PATH is passed on here, so that nothing else
   * of the caller's leaks into hooks), or the usual one: hooks are often
   * scripts that call other programs by name. */
  _cleanup_free_ char *path_var = NULL;
  const char *caller_path = getenv("PATH");
  if (!h->env && asprintf(&path_var, "PATH=%s", caller_path && *caller_path ? caller_path
                          : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
    return err_sys(err, "hooks.%s[%zu]", kind, i);
  char *path_only[] = {path_var, NULL};
  pid_t pid = fork();
  if (pid < 0)
    return err_sys(err, "hooks.%s[%zu]: fork", kind, i);
  if (pid == 0) {
    dup2(in, 0);
    /* A hook's output must not land in the container's stdio. */
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2(devnull, 1);
    execve(h->path, h->args ? h->args : fallback, h->env ? h->env : path_only);
    _exit(127);
  }
  long deadline = h->timeout ? now_ms() + h->timeout * 1000L : 0;
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, deadline ? WNOHANG : 0);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR)
      return err_sys(err, "hooks.%s[%zu]: wait", kind, i);
    if (deadline && now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return err_make(err, ETIMEDOUT, "hooks.%s[%zu] (`%s`) did not finish in %d s", kind, i,
                      h->path, h->timeout);
    }
    if (deadline)
      poll(NULL, 0, 5);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (WIFEXITED(status))
    return err_make(err, ECHILD, "hooks.%s[%zu] (`%s`) failed with exit status %d", kind, i,
                    h->path, WEXITSTATUS(status));
  return err_make(err, ECHILD, "hooks.%s[%zu] (`%s`) was killed by signal %d", kind, i, h->path,
                  WTERMSIG(status));
}

int hooks_run(const struct spec *s, enum spec_hook_kind kind, const json_t *state, err_t *err)
{
  if (!s->n_hooks[kind])
    return 0;
  _cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
  if (!text)
    return err_make(err, ENOMEM, "hooks: cannot serialize the state");
  for (size_t i = 0; i < s->n_hooks[kind]; i++)
    if (run_one(&s->hooks[kind][i], spec_hook_names[kind], i, text, err) < 0)
      return -1;
  return 0;
}

int hooks_run_json(const json_t *config, enum spec_hook_kind kind, const json_t *state, err_t *err)
{
  if (!config || !json_object_get(json_object_get(config, "hooks"), spec_hook_names[kind]))
    return 0;
  struct spec *s = NULL;
  if (spec_parse((json_t *)config, "config", &s, err) < 0)
    return -1;
  int r = hooks_run(s, kind, state, err);
  spec_free(s);
  return r;
}

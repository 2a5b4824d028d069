/* Waiting for the process we run in the foreground (`run`, `exec` without
 * --detach): signals we receive go to it, orphans that reach us (we are a
 * subreaper) are reaped, and its status becomes ours. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "runtime/container/container.h"

static volatile pid_t forward_to;

static void forward(int sig)
{
  if (forward_to > 0)
    kill(forward_to, sig);
}

int wait_forwarding(pid_t pid)
{
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  forward_to = pid;
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, __WALL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return 255;
    if (r != pid)
      continue;
    forward_to = 0;
    if (WIFEXITED(st))
      return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
  }
}

/* Waiting for the process we run in the foreground (`run`, `exec` without
 * --detach): signals we receive go to it, orphans that reach us (we are a
 * subreaper) are reaped, and its status becomes ours. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "runtime/container/container.h"

static volatile pid_t forward_to;
static volatile sig_atomic_t winch_seen;

static void forward(int sig)
{
  if (forward_to > 0)
    kill(forward_to, sig);
}

static void note_winch(int sig)
{
  (void)sig;
  winch_seen = 1;
}

void forward_signals(pid_t pid, bool own_winch)
{
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  forward_to = pid;
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
  if (own_winch) { /* the caller resizes a pty: no SA_RESTART, poll wakes */
    sa.sa_handler = note_winch;
    sa.sa_flags = 0;
    sigaction(SIGWINCH, &sa, NULL);
  }
}

bool forward_winch_seen(void)
{
  bool seen = winch_seen;
  winch_seen = 0;
  return seen;
}

int wait_reaping(pid_t pid)
{
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

int wait_forwarding(pid_t pid)
{
  forward_signals(pid, false);
  return wait_reaping(pid);
}

/* `isola-init -- COMMAND [ARG...]`: a minimal init for containers (what
 * `isola run --init` puts at /dev/init, like Docker's tini): it runs the
 * command as its child, forwards every signal it can catch to it, reaps
 * every zombie reparented to it, and exits with the command's status
 * (128 + N when a signal N ended it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

int reaper_main(char **argv)
{
  sigset_t all, old;
  sigfillset(&all);
  /* the ones that report faults of our own stay default */
  static const int own[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    sigdelset(&all, own[i]);
  sigprocmask(SIG_SETMASK, &all, &old);
  /* not PID 1 (--pid host): still the parent of orphans below us */
  if (getpid() != 1)
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "isola-init: fork: %s\n", strerror(errno));
    return 125;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[0], argv);
    fprintf(stderr, "isola-init: exec: `%s`: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int code = -1;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0)
      continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p == child)
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    /* the command is gone and no child is left to reap */
    if (code >= 0 && p < 0 && errno == ECHILD)
      return code;
  }
}

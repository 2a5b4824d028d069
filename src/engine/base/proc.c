/* Helper processes and process liveness (proc.h). */
#include "engine/base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_from(int lowfd)
{
#ifdef SYS_close_range
  if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
    return;
#endif
  for (int fd = lowfd; fd < 1024; fd++)
    close(fd);
}

pid_t proc_spawn(const char *const *argv, int in, int out, int errfd, err_t *err)
{
  pid_t pid = fork();
  if (pid < 0)
    return err_sys(err, "cannot fork to run `%s`", argv[0]);
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    int fds[3] = {in >= 0 ? in : null, out >= 0 ? out : null, errfd >= 0 ? errfd : null};
    /* move sources above 2 first so that dup2 never clobbers one */
    for (int i = 0; i < 3; i++)
      fds[i] = fcntl(fds[i], F_DUPFD, 3);
    for (int i = 0; i < 3; i++)
      if (dup2(fds[i], i) < 0)
        _exit(125);
    close_from(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], (char *const *)argv);
    dprintf(2, "cannot run `%s`: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  return pid;
}

int proc_exit_code(int wstatus)
{
  if (WIFEXITED(wstatus))
    return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus))
    return 128 + WTERMSIG(wstatus);
  return 255;
}

int proc_wait(pid_t pid)
{
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return 255;
  return proc_exit_code(st);
}

bool proc_alive(pid_t pid, unsigned long long start)
{
  unsigned long long now = pid > 0 ? proc_start_time(pid) : 0;
  return now != 0 && (start == 0 || now == start);
}

bool proc_is_mountpoint(const char *path)
{
  struct stat a, b;
  char parent[4096];
  snprintf(parent, sizeof parent, "%s/..", path);
  if (stat(path, &a) < 0 || stat(parent, &b) < 0)
    return false;
  if (a.st_dev != b.st_dev)
    return true;
  /* same device (a bind of the same filesystem): ask mountinfo */
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return false;
  char line[8192];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, path))
      found = true;
  }
  fclose(f);
  return found;
}

void proc_unmount_all(const char *path)
{
  for (int i = 0; i < 16; i++)
    if (umount2(path, MNT_DETACH) < 0)
      break;
}

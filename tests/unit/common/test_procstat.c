#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/procstat.h"

/* Field 22 of our own stat line, split naively (our comm has no spaces). */
static unsigned long long field22(pid_t pid)
{
  char path[64];
  unsigned long long v = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  for (int i = 1; i <= 22; i++)
    cr_assert_eq(fscanf(f, i == 22 ? "%llu" : "%*s", &v), i == 22 ? 1 : 0);
  fclose(f);
  return v;
}

Test(procstat, start_time_is_field_22_and_stays_while_memory_grows)
{
  unsigned long long t = proc_start_time(getpid());
  cr_assert_neq(t, 0);
  cr_assert_eq(t, field22(getpid()));
  /* field 23 (vsize) moves with every mapping; the start time must not
   * (reading one field too far made a live monitor look dead) */
  void *m = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(m, MAP_FAILED);
  cr_assert_eq(proc_start_time(getpid()), t);
  munmap(m, 64 << 20);
}

Test(procstat, a_command_name_with_spaces_and_parentheses_is_skipped)
{
  char old[17] = {0};
  prctl(PR_GET_NAME, old);
  unsigned long long t = proc_start_time(getpid());
  prctl(PR_SET_NAME, "a) b ) c");
  cr_assert_eq(proc_start_time(getpid()), t);
  prctl(PR_SET_NAME, old);
}

Test(procstat, a_zombie_and_a_missing_process_read_as_none)
{
  pid_t p = fork();
  cr_assert_geq(p, 0);
  if (p == 0)
    _exit(0);
  /* unreaped, the child stays a zombie */
  for (int i = 0; i < 500; i++) {
    siginfo_t si = {0};
    cr_assert_eq(waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG | WNOWAIT), 0);
    if (si.si_pid == p)
      break;
    nanosleep(&(struct timespec){0, 2000000}, NULL);
  }
  cr_assert_eq(proc_start_time(p), 0);
  waitpid(p, NULL, 0);
  cr_assert_eq(proc_start_time(p), 0);
  cr_assert_eq(proc_start_time(-1), 0);
}

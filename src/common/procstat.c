#include "common/procstat.h"

#include <stdio.h>
#include <string.h>

unsigned long long proc_start_time(pid_t pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields start after
   * the last ')'.  Field 3 is the state, field 22 the start time. */
  char *p = strrchr(buf, ')');
  if (!p || !p[1])
    return 0;
  char state = 0;
  unsigned long long start = 0;
  if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
             &state, &start) != 2)
    return 0;
  return state == 'Z' || state == 'X' ? 0 : start;
}

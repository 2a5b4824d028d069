/* A process's identity from /proc/PID/stat: its start time, which tells a
 * live process from a later one that reused its PID. */
#ifndef ISOLA_COMMON_PROCSTAT_H
#define ISOLA_COMMON_PROCSTAT_H

#include <sys/types.h>

/* Field 22 (starttime, in clock ticks since boot); 0 if the process does
 * not exist or is a zombie. */
unsigned long long proc_start_time(pid_t pid);

#endif

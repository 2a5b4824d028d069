/* Wall-clock time as RFC 3339 with nanoseconds, UTC: the form of the OCI
 * state's `created` and of log records' `time`. */
#ifndef ISOLA_COMMON_CLOCK_H
#define ISOLA_COMMON_CLOCK_H

#include <stddef.h>

#define CLOCK_RFC3339_LEN 48

void clock_rfc3339(char *buf, size_t len);

#endif

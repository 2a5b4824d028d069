/* Clocks: wall-clock time as RFC 3339 with nanoseconds, UTC (the form of
 * the OCI state's `created` and of log records' `time`), and microsecond
 * readings for timing. */
#ifndef ISOLA_COMMON_CLOCK_H
#define ISOLA_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CLOCK_RFC3339_LEN 48

void clock_rfc3339(char *buf, size_t len);

/* Seconds since the epoch of an RFC 3339 time (fraction, Z or an offset);
 * -1 when `s` is not one. */
double clock_parse_rfc3339(const char *s);

/* Microseconds on `clock` (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, …). */
uint64_t clock_us(clockid_t clock);

#endif

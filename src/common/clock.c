#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void clock_rfc3339(char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

double clock_parse_rfc3339(const char *s)
{
  struct tm tm = {0};
  const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (!p)
    return -1;
  double frac = 0;
  if (*p == '.') {
    char *end;
    frac = strtod(p, &end);
    p = end;
  }
  double t = (double)timegm(&tm) + frac;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (sscanf(p + 1, "%d:%d", &hh, &mm) >= 1)
      t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
  }
  return t;
}

uint64_t clock_us(clockid_t clock)
{
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

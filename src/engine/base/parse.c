/* The value syntaxes several engine parts read: sizes, durations, times and
 * signals (parse.h). */
#include "engine/base/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cli.h"
#include "common/clock.h"

int parse_size(const char *s, const char *what, int64_t *out, err_t *err)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  double mul = 1;
  switch (tolower((unsigned char)*end)) {
  case 0: break;
  case 'b': mul = 1; break;
  case 'k': mul = 1024.0; break;
  case 'm': mul = 1024.0 * 1024; break;
  case 'g': mul = 1024.0 * 1024 * 1024; break;
  case 't': mul = 1024.0 * 1024 * 1024 * 1024; break;
  default: mul = -1;
  }
  if (*end && mul > 0) {
    end++;
    if (tolower((unsigned char)*end) == 'i')
      end++;
    if (tolower((unsigned char)*end) == 'b')
      end++;
  }
  if (end == s || *end || mul < 0 || errno || v < 0 || !isfinite(v) || v * mul > 9.2e18)
    return err_make(err, EINVAL, "%s: `%s` is not a size: use bytes or a number with k, m, g or t (512m, 1.5g)",
                    what, s);
  *out = (int64_t)(v * mul);
  return 0;
}

int parse_duration(const char *s, const char *what, int64_t *ns, err_t *err)
{
  const char *p = s;
  double total = 0;
  if (!*p)
    goto bad;
  while (*p) {
    char *end;
    double v = strtod(p, &end);
    if (end == p || v < 0)
      goto bad;
    p = end;
    double unit = 1e9;
    if (!strncmp(p, "ms", 2)) {
      unit = 1e6;
      p += 2;
    } else if (!strncmp(p, "us", 2)) {
      unit = 1e3;
      p += 2;
    } else if (!strncmp(p, "ns", 2)) {
      unit = 1;
      p += 2;
    } else if (*p == 's') {
      p++;
    } else if (*p == 'm') {
      unit = 60e9;
      p++;
    } else if (*p == 'h') {
      unit = 3600e9;
      p++;
    } else if (*p) {
      goto bad;
    }
    total += v * unit;
  }
  *ns = (int64_t)total;
  return 0;
bad:
  return err_make(err, EINVAL, "%s: `%s` is not a duration: use 30s, 1m30s, 500ms or 2h", what, s);
}

int parse_time(const char *s, const char *flag, double *out, err_t *err)
{
  char *end;
  double v = strtod(s, &end);
  if (end != s && !*end) {
    *out = v;
    return 0;
  }
  double t = clock_parse_rfc3339(s);
  if (t >= 0) {
    *out = t;
    return 0;
  }
  int64_t ns;
  if (parse_duration(s, flag, &ns, NULL) == 0) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *out = (double)now.tv_sec + now.tv_nsec / 1e9 - (double)ns / 1e9;
    return 0;
  }
  return err_make(err, EINVAL, "%s %s: use an RFC 3339 time, a Unix time or a duration (10m)", flag, s);
}

int parse_signal(const char *s, int *sig, err_t *err)
{
  int v = cli_parse_signal(s);
  if (v < 0)
    return err_make(err, EINVAL, "unknown signal `%s`: use a name such as TERM, KILL, RTMIN+3 or a number",
                    s);
  *sig = v;
  return 0;
}

/* Rate limiters as Firecracker's (src/vmm/src/rate_limiter): two token
 * buckets, one of bytes ("bandwidth") and one of operations ("ops"), each
 * with a size, a one-time burst and a refill time (the bucket refills from
 * empty to `size` in `refill_time` ms).  A device asks for both kinds at
 * once; when either bucket is short, nothing is taken, the limiter blocks
 * and arms a timerfd for the moment enough tokens will be there, and the
 * device stops serving that queue until the timer fires on its event loop.
 * Nothing busy-waits. */
#ifndef ISOLA_VMM_RATELIMIT_H
#define ISOLA_VMM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

struct bucket_config {
  uint64_t size;           /* tokens; 0: this bucket does not limit */
  uint64_t one_time_burst; /* extra tokens at the start, never refilled */
  uint64_t refill_ms;      /* time to refill `size` tokens */
};

struct ratelimit_config {
  struct bucket_config bandwidth; /* bytes */
  struct bucket_config ops;       /* requests */
};

struct bucket {
  struct bucket_config cfg;
  double tokens; /* may go below 0 after one request larger than the bucket */
  uint64_t burst;
  uint64_t last_ns;
};

struct ratelimit {
  struct bucket bandwidth, ops;
  int timer_fd; /* -1 until a bucket limits */
  bool blocked;
  uint64_t throttled; /* times a request had to wait (metrics) */
};

static inline bool ratelimit_config_set(const struct ratelimit_config *c)
{
  return c->bandwidth.size || c->ops.size;
}

/* Everything off: a limiter that lets all through and has no timer. */
void ratelimit_init(struct ratelimit *rl);
/* Take new buckets (full, with their bursts), keeping the timer; a limiter
 * that now limits gets its timerfd: 1 when it was made here (the caller
 * watches it), else 0.  Device loop only (or while it is paused). */
int ratelimit_configure(struct ratelimit *rl, const struct ratelimit_config *c, err_t *err);
int ratelimit_configure_at(struct ratelimit *rl, const struct ratelimit_config *c, uint64_t now_ns, err_t *err);
void ratelimit_close(struct ratelimit *rl);

/* Take `bytes` and one operation, or nothing: false means the caller must
 * stop serving until ratelimit_on_timer(); the timer is armed.  now_ns is
 * CLOCK_MONOTONIC (a parameter, for the tests). */
bool ratelimit_consume_at(struct ratelimit *rl, uint64_t bytes, uint64_t now_ns);
bool ratelimit_consume(struct ratelimit *rl, uint64_t bytes);
/* The timerfd fired: read it and unblock. */
void ratelimit_on_timer(struct ratelimit *rl);
static inline bool ratelimit_blocked(const struct ratelimit *rl)
{
  return rl->blocked;
}
/* The timerfd to watch, or -1. */
static inline int ratelimit_fd(const struct ratelimit *rl)
{
  return rl->timer_fd;
}

/* Firecracker's JSON: {"bandwidth": {"size", "one_time_burst", "refill_time"},
 * "ops": {...}}.  from_json names `field` in errors; to_json gives NULL for
 * a config that limits nothing. */
int ratelimit_from_json(json_t *j, const char *field, struct ratelimit_config *c, err_t *err);
json_t *ratelimit_to_json(const struct ratelimit_config *c);

#endif

#include "vmm/ratelimit.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000ULL

static uint64_t now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

void ratelimit_init(struct ratelimit *rl)
{
  memset(rl, 0, sizeof *rl);
  rl->timer_fd = -1;
}

static void bucket_reset(struct bucket *b, const struct bucket_config *c, uint64_t now)
{
  b->cfg = *c;
  b->tokens = (double)c->size;
  b->burst = c->one_time_burst;
  b->last_ns = now;
}


int ratelimit_configure(struct ratelimit *rl, const struct ratelimit_config *c, err_t *err)
{
  return ratelimit_configure_at(rl, c, now_ns(), err);
}

int ratelimit_configure_at(struct ratelimit *rl, const struct ratelimit_config *c, uint64_t now, err_t *err)
{
  int made = 0;
  if (ratelimit_config_set(c) && rl->timer_fd < 0) {
    rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (rl->timer_fd < 0)
      return err_sys(err, "cannot make a rate limiter's timer");
    made = 1;
  }
  bucket_reset(&rl->bandwidth, &c->bandwidth, now);
  bucket_reset(&rl->ops, &c->ops, now);
  /* new limits apply at once: a request that waited retries now */
  if (rl->blocked && rl->timer_fd >= 0) {
    struct itimerspec soon = {.it_value = {0, 1}};
    timerfd_settime(rl->timer_fd, 0, &soon, NULL);
  }
  return made;
}

void ratelimit_close(struct ratelimit *rl)
{
  if (rl->timer_fd >= 0)
    close(rl->timer_fd);
  ratelimit_init(rl);
}

static void refill(struct bucket *b, uint64_t now)
{
  if (now <= b->last_ns)
    return;
  double add = (double)(now - b->last_ns) * (double)b->cfg.size / ((double)b->cfg.refill_ms * NS_PER_MS);
  b->tokens = b->tokens + add > (double)b->cfg.size ? (double)b->cfg.size : b->tokens + add;
  b->last_ns = now;
}

/* 0 when `n` tokens can be taken now (the burst first; a request larger than
 * the bucket goes through once the bucket is full, leaving it in debt, as
 * Firecracker's over-consumption does), else the nanoseconds to wait. */
static uint64_t wait_for(struct bucket *b, uint64_t n, uint64_t now)
{
  if (!b->cfg.size)
    return 0;
  refill(b, now);
  uint64_t from_burst = n < b->burst ? n : b->burst;
  double need = (double)(n - from_burst);
  double target = need > (double)b->cfg.size ? (double)b->cfg.size : need;
  if (b->tokens >= target)
    return 0;
  double ns = (target - b->tokens) * ((double)b->cfg.refill_ms * NS_PER_MS) / (double)b->cfg.size;
  return ns < 1 ? 1 : (uint64_t)ns;
}

static void take(struct bucket *b, uint64_t n)
{
  if (!b->cfg.size)
    return;
  uint64_t from_burst = n < b->burst ? n : b->burst;
  b->burst -= from_burst;
  b->tokens -= (double)(n - from_burst);
}

bool ratelimit_consume_at(struct ratelimit *rl, uint64_t bytes, uint64_t now)
{
  if (rl->blocked)
    return false;
  uint64_t wb = wait_for(&rl->bandwidth, bytes, now), wo = wait_for(&rl->ops, 1, now);
  uint64_t wait = wb > wo ? wb : wo;
  if (wait == 0) {
    take(&rl->bandwidth, bytes);
    take(&rl->ops, 1);
    return true;
  }
  rl->blocked = true;
  rl->throttled++;
  if (rl->timer_fd >= 0) {
    struct itimerspec t = {.it_value = {(time_t)(wait / 1000000000ULL), (long)(wait % 1000000000ULL)}};
    timerfd_settime(rl->timer_fd, 0, &t, NULL);
  }
  return false;
}

bool ratelimit_consume(struct ratelimit *rl, uint64_t bytes)
{
  if (!rl->bandwidth.cfg.size && !rl->ops.cfg.size)
    return true;
  return ratelimit_consume_at(rl, bytes, now_ns());
}

void ratelimit_on_timer(struct ratelimit *rl)
{
  uint64_t n;
  if (rl->timer_fd >= 0 && read(rl->timer_fd, &n, sizeof n) < 0 && errno != EAGAIN)
    return;
  rl->blocked = false;
}

static int bucket_from_json(json_t *j, const char *field, const char *name, struct bucket_config *b,
                            err_t *err)
{
  json_t *v = json_object_get(j, name);
  *b = (struct bucket_config){0};
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_object(v))
    return err_make(err, EINVAL, "%s.%s: must be an object {size, one_time_burst, refill_time}", field, name);
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x)
  {
    uint64_t *slot = !strcmp(k, "size")             ? &b->size
                     : !strcmp(k, "one_time_burst") ? &b->one_time_burst
                     : !strcmp(k, "refill_time")    ? &b->refill_ms
                                                    : NULL;
    if (!slot)
      return err_make(err, EINVAL, "%s.%s: unknown field `%s`", field, name, k);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
      return err_make(err, EINVAL, "%s.%s.%s: must be a whole number of at least 0", field, name, k);
    *slot = (uint64_t)json_integer_value(x);
  }
  if (b->size && !b->refill_ms)
    return err_make(err, EINVAL, "%s.%s.refill_time: must be more than 0 ms for a bucket of size %llu", field,
                    name, (unsigned long long)b->size);
  return 0;
}

int ratelimit_from_json(json_t *j, const char *field, struct ratelimit_config *c, err_t *err)
{
  *c = (struct ratelimit_config){0};
  if (!j || json_is_null(j))
    return 0;
  if (!json_is_object(j))
    return err_make(err, EINVAL, "%s: must be an object {bandwidth, ops}", field);
  const char *k;
  json_t *x;
  json_object_foreach(j, k, x)
  {
    if (strcmp(k, "bandwidth") && strcmp(k, "ops"))
      return err_make(err, EINVAL, "%s: unknown field `%s` (bandwidth, ops)", field, k);
  }
  if (bucket_from_json(j, field, "bandwidth", &c->bandwidth, err) < 0 ||
      bucket_from_json(j, field, "ops", &c->ops, err) < 0)
    return -1;
  return 0;
}

static json_t *bucket_to_json(const struct bucket_config *b)
{
  return json_pack("{sI sI sI}", "size", (json_int_t)b->size, "one_time_burst", (json_int_t)b->one_time_burst,
                   "refill_time", (json_int_t)b->refill_ms);
}

json_t *ratelimit_to_json(const struct ratelimit_config *c)
{
  if (!ratelimit_config_set(c))
    return NULL;
  json_t *j = json_object();
  if (c->bandwidth.size)
    json_object_set_new(j, "bandwidth", bucket_to_json(&c->bandwidth));
  if (c->ops.size)
    json_object_set_new(j, "ops", bucket_to_json(&c->ops));
  return j;
}

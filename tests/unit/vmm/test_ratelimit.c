/* Token buckets as Firecracker's rate limiter: what goes through when, and
 * the limits' JSON.  Time is passed in, so nothing here waits. */
#include <criterion/criterion.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/ratelimit.h"

#define MS 1000000ULL
#define T0 (1000 * MS)

static struct ratelimit limiter(struct ratelimit_config c)
{
  struct ratelimit rl;
  err_t e = NULL;
  ratelimit_init(&rl);
  cr_assert_geq(ratelimit_configure_at(&rl, &c, T0, &e), 0, "%s", err_msg(e));
  return rl;
}

/* the timer as armed: nanoseconds until it fires */
static uint64_t armed_ns(const struct ratelimit *rl)
{
  struct itimerspec t;
  cr_assert_eq(timerfd_gettime(ratelimit_fd(rl), &t), 0);
  return (uint64_t)t.it_value.tv_sec * 1000000000ULL + (uint64_t)t.it_value.tv_nsec;
}

Test(ratelimit, no_limits_let_everything_through_without_a_timer)
{
  struct ratelimit rl = limiter((struct ratelimit_config){0});
  for (int i = 0; i < 1000; i++)
    cr_assert(ratelimit_consume(&rl, 1 << 20));
  cr_assert_eq(ratelimit_fd(&rl), -1);
  cr_assert_eq(rl.throttled, 0);
  ratelimit_close(&rl);
}

Test(ratelimit, a_full_bucket_serves_its_size_then_blocks_until_refilled)
{
  /* 1000 bytes per 100 ms */
  struct ratelimit rl = limiter((struct ratelimit_config){.bandwidth = {.size = 1000, .refill_ms = 100}});
  cr_assert(ratelimit_consume_at(&rl, 600, T0));
  cr_assert(ratelimit_consume_at(&rl, 400, T0));
  cr_assert_not(ratelimit_consume_at(&rl, 500, T0));
  cr_assert(ratelimit_blocked(&rl));
  cr_assert_eq(rl.throttled, 1);
  /* 500 bytes take 50 ms to come back */
  uint64_t wait = armed_ns(&rl);
  cr_assert(wait > 45 * MS && wait <= 50 * MS, "armed for %llu ns", (unsigned long long)wait);
  /* blocked stays blocked until the timer says so, even later */
  cr_assert_not(ratelimit_consume_at(&rl, 1, T0 + 60 * MS));
  ratelimit_on_timer(&rl);
  cr_assert(ratelimit_consume_at(&rl, 500, T0 + 50 * MS));
  cr_assert_not(ratelimit_consume_at(&rl, 100, T0 + 50 * MS));
  ratelimit_close(&rl);
}

Test(ratelimit, a_refill_never_overfills_the_bucket)
{
  struct ratelimit rl = limiter((struct ratelimit_config){.bandwidth = {.size = 1000, .refill_ms = 100}});
  /* a long idle time refills to 1000, not to 10000 */
  cr_assert(ratelimit_consume_at(&rl, 1000, T0 + 1000 * MS));
  cr_assert_not(ratelimit_consume_at(&rl, 1, T0 + 1000 * MS));
  ratelimit_close(&rl);
}

Test(ratelimit, the_one_time_burst_goes_first_and_never_returns)
{
  struct ratelimit rl = limiter(
      (struct ratelimit_config){.bandwidth = {.size = 100, .one_time_burst = 1000, .refill_ms = 100}});
  cr_assert(ratelimit_consume_at(&rl, 1000, T0)); /* all from the burst */
  cr_assert(ratelimit_consume_at(&rl, 100, T0));  /* then the bucket */
  cr_assert_not(ratelimit_consume_at(&rl, 100, T0));
  ratelimit_on_timer(&rl);
  /* a second later: the bucket is full again, the burst is not */
  cr_assert(ratelimit_consume_at(&rl, 100, T0 + 1000 * MS));
  cr_assert_not(ratelimit_consume_at(&rl, 1, T0 + 1000 * MS));
  ratelimit_close(&rl);
}

Test(ratelimit, a_request_larger_than_the_bucket_waits_for_a_full_bucket_then_passes)
{
  struct ratelimit rl = limiter((struct ratelimit_config){.bandwidth = {.size = 1000, .refill_ms = 100}});
  cr_assert(ratelimit_consume_at(&rl, 500, T0));
  cr_assert_not(ratelimit_consume_at(&rl, 5000, T0)); /* waits for the bucket to be full */
  ratelimit_on_timer(&rl);
  cr_assert(ratelimit_consume_at(&rl, 5000, T0 + 50 * MS)); /* and goes into debt */
  /* the debt is paid before anything else passes: 4000 + 1 bytes take > 400 ms */
  cr_assert_not(ratelimit_consume_at(&rl, 1, T0 + 50 * MS));
  cr_assert(armed_ns(&rl) > 400 * MS);
  ratelimit_close(&rl);
}

Test(ratelimit, ops_and_bandwidth_are_taken_together_or_not_at_all)
{
  struct ratelimit rl = limiter((struct ratelimit_config){.bandwidth = {.size = 1000, .refill_ms = 1000},
                                                          .ops = {.size = 2, .refill_ms = 1000}});
  cr_assert(ratelimit_consume_at(&rl, 100, T0));
  cr_assert(ratelimit_consume_at(&rl, 100, T0));
  cr_assert_not(ratelimit_consume_at(&rl, 100, T0)); /* out of ops, not of bytes */
  ratelimit_on_timer(&rl);
  /* the refused request took no bytes: 800 are left, after half a second
   * one op is back */
  cr_assert(ratelimit_consume_at(&rl, 800, T0 + 500 * MS));
  ratelimit_close(&rl);
}

Test(ratelimit, new_limits_start_full_and_release_a_waiting_request_at_once)
{
  struct ratelimit rl = limiter((struct ratelimit_config){.ops = {.size = 1, .refill_ms = 60000}});
  cr_assert(ratelimit_consume_at(&rl, 0, T0));
  cr_assert_not(ratelimit_consume_at(&rl, 0, T0));
  err_t e = NULL;
  struct ratelimit_config none = {0};
  cr_assert_eq(ratelimit_configure_at(&rl, &none, T0, &e), 0); /* the timer exists already */
  cr_assert(armed_ns(&rl) <= 1000, "the waiting request is retried now");
  ratelimit_on_timer(&rl);
  cr_assert(ratelimit_consume_at(&rl, 0, T0));
  ratelimit_close(&rl);
}

Test(ratelimit, json_round_trips_and_bad_limits_name_the_field)
{
  json_error_t je;
  json_t *j = json_loads("{\"bandwidth\": {\"size\": 1048576, \"refill_time\": 1000},"
                         " \"ops\": {\"size\": 100, \"one_time_burst\": 50, \"refill_time\": 10}}",
                         0, &je);
  struct ratelimit_config c;
  err_t e = NULL;
  cr_assert_eq(ratelimit_from_json(j, "rate_limiter", &c, &e), 0, "%s", err_msg(e));
  cr_assert_eq(c.bandwidth.size, 1048576);
  cr_assert_eq(c.ops.one_time_burst, 50);
  json_t *back = ratelimit_to_json(&c);
  cr_assert(json_equal(json_object_get(back, "ops"), json_object_get(j, "ops")));
  json_decref(back);
  json_decref(j);
  cr_assert_null(ratelimit_to_json(&(struct ratelimit_config){0}));

  const char *bad[][2] = {
      {"{\"bandwidth\": {\"size\": 10}}", "rate_limiter.bandwidth.refill_time: must be more than 0"},
      {"{\"ops\": {\"size\": -1, \"refill_time\": 1}}", "rate_limiter.ops.size: must be a whole number"},
      {"{\"ops\": {\"sizes\": 1}}", "rate_limiter.ops: unknown field `sizes`"},
      {"{\"iops\": {}}", "rate_limiter: unknown field `iops`"},
      {"{\"ops\": 3}", "rate_limiter.ops: must be an object"},
      {"[]", "rate_limiter: must be an object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    j = json_loads(bad[i][0], JSON_DECODE_ANY, &je);
    cr_assert_not_null(j, "%s", bad[i][0]);
    cr_assert_eq(ratelimit_from_json(j, "rate_limiter", &c, &e), -1, "%s", bad[i][0]);
    cr_assert(strstr(err_msg(e), bad[i][1]), "%s: %s", bad[i][0], err_msg(e));
    err_free(&e);
    json_decref(j);
  }
}

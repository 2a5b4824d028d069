/* Healthchecks, run by the monitor (Docker's semantics): the test command
 * runs in the container (isola-runtime exec) every Interval, a run longer
 * than Timeout fails, Retries failures in a row make the container
 * unhealthy (failures during StartPeriod do not count); the last five
 * results are kept in the state.  Test: ["CMD", args…],
 * ["CMD-SHELL", "command"] or ["NONE"]. */
#ifndef ISOLA_ENGINE_MONITOR_HEALTH_H
#define ISOLA_ENGINE_MONITOR_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/clock.h"
#include "engine/container/ctr.h"

struct health {
  bool enabled;
  struct ctr *c;
  json_t *argv;
  int64_t interval_ns, timeout_ns, start_period_ns;
  int retries;
  int ep, tfd, out;
  uint64_t tag_timer, tag_out;
  pid_t pid;
  char buf[4096];
  size_t len;
  uint64_t started_us, check_us;
  char check_start[CLOCK_RFC3339_LEN]; /* RFC 3339, for the log */
  const char *status; /* starting, healthy, unhealthy */
  int streak;
  json_t *log;
  bool changed;       /* status changed: the monitor saves and reports it */
  bool act;           /* unhealthy: kill the container */
  bool force_restart; /* --health-on-failure=restart */
};

void health_init(struct health *h, struct ctr *c, json_t *cfg, int ep, uint64_t tag_timer, uint64_t tag_out);
void health_reset(struct health *h);
void health_arm(struct health *h);
void health_disarm(struct health *h);
void health_tick(struct health *h);
void health_output(struct health *h);
/* true when `pid` was the running check (its result is recorded) */
bool health_reaped(struct health *h, pid_t pid, int wstatus);
/* State.Health, or null without a healthcheck; a new reference */
json_t *health_json(const struct health *h);

#endif

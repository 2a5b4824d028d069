/* Healthchecks (health.h). */
#include "engine/monitor/health.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "engine/base/proc.h"
#include "engine/container/ctr.h"
#include "engine/monitor/restart.h"

#define SEC 1000000000LL

static int64_t get_ns(json_t *cfg, const char *key, int64_t def)
{
  json_int_t v = json_integer_value(json_object_get(cfg, key));
  return v > 0 ? v : def;
}

void health_init(struct health *h, struct ctr *c, json_t *cfg, int ep, uint64_t tag_timer, uint64_t tag_out)
{
  memset(h, 0, sizeof *h);
  h->c = c;
  h->ep = ep;
  h->tfd = h->out = -1;
  h->tag_timer = tag_timer;
  h->tag_out = tag_out;
  h->log = json_array();
  json_t *test = json_object_get(cfg, "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  if (!kind || !strcmp(kind, "NONE") || json_array_size(test) < 2)
    return;
  if (!strcmp(kind, "CMD-SHELL")) {
    h->argv = json_pack("[ssO]", "/bin/sh", "-c", json_array_get(test, 1));
  } else if (!strcmp(kind, "CMD")) {
    h->argv = json_array();
    for (size_t i = 1; i < json_array_size(test); i++)
      json_array_append(h->argv, json_array_get(test, i));
  } else {
    return;
  }
  h->enabled = true;
  h->interval_ns = get_ns(cfg, "Interval", 30 * SEC);
  h->timeout_ns = get_ns(cfg, "Timeout", 30 * SEC);
  h->start_period_ns = get_ns(cfg, "StartPeriod", 0);
  json_int_t r = json_integer_value(json_object_get(cfg, "Retries"));
  h->retries = r > 0 ? (int)r : 3;
  h->status = "starting";
  h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag_timer};
  epoll_ctl(ep, EPOLL_CTL_ADD, h->tfd, &ev);
}

static void set_timer(struct health *h, int64_t ns)
{
  struct itimerspec it = {.it_value = {(time_t)(ns / SEC), (long)(ns % SEC)}};
  timerfd_settime(h->tfd, 0, &it, NULL);
}

void health_reset(struct health *h)
{
  if (!h->enabled)
    return;
  h->status = "starting";
  h->streak = 0;
  h->started_us = clock_us(CLOCK_MONOTONIC);
}

void health_arm(struct health *h)
{
  if (h->enabled)
    set_timer(h, h->interval_ns);
}

static void stop_check(struct health *h)
{
  if (h->pid > 0)
    kill(h->pid, SIGKILL);
  if (h->out >= 0) {
    epoll_ctl(h->ep, EPOLL_CTL_DEL, h->out, NULL);
    close(h->out);
    h->out = -1;
  }
}

void health_disarm(struct health *h)
{
  if (!h->enabled)
    return;
  set_timer(h, 0);
  stop_check(h);
}

static void start_check(struct health *h)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
    return;
  _cleanup_free_ char *rt = engine_helper("isola-runtime");
  _cleanup_free_ char *rtroot = engine_run_path("runtime");
  size_t n = json_array_size(h->argv);
  const char **argv = calloc(n + 6, sizeof *argv);
  argv[0] = rt;
  argv[1] = "--root";
  argv[2] = rtroot;
  argv[3] = "exec";
  argv[4] = h->c->id;
  for (size_t i = 0; i < n; i++)
    argv[5 + i] = json_string_value(json_array_get(h->argv, i));
  h->pid = proc_spawn(argv, -1, p[1], p[1], NULL);
  free(argv);
  close(p[1]);
  h->out = p[0];
  h->len = 0;
  h->check_us = clock_us(CLOCK_MONOTONIC);
  clock_rfc3339(h->check_start, sizeof h->check_start);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = h->tag_out};
  epoll_ctl(h->ep, EPOLL_CTL_ADD, h->out, &ev);
  set_timer(h, h->timeout_ns);
}

void health_output(struct health *h)
{
  char buf[1024];
  ssize_t n;
  while ((n = read(h->out, buf, sizeof buf)) > 0) {
    size_t room = sizeof h->buf - 1 - h->len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(h->buf + h->len, buf, take);
    h->len += take;
  }
  if (n == 0) {
    epoll_ctl(h->ep, EPOLL_CTL_DEL, h->out, NULL);
    close(h->out);
    h->out = -1;
  }
}

static void result(struct health *h, int code, const char *output)
{
  char end[CLOCK_RFC3339_LEN];
  clock_rfc3339(end, sizeof end);
  json_array_append_new(h->log, json_pack("{ss ss si ss}", "Start", h->check_start, "End", end, "ExitCode", code, "Output",
                                          output));
  while (json_array_size(h->log) > 5)
    json_array_remove(h->log, 0);
  const char *before = h->status;
  if (code == 0) {
    h->streak = 0;
    h->status = "healthy";
  } else {
    bool grace = !strcmp(h->status, "starting") &&
                 (int64_t)(clock_us(CLOCK_MONOTONIC) - h->started_us) * 1000 < h->start_period_ns;
    if (!grace && ++h->streak >= h->retries)
      h->status = "unhealthy";
  }
  if (strcmp(before, h->status) || code != 0)
    h->changed = true;
  if (strcmp(before, "unhealthy") && !strcmp(h->status, "unhealthy")) {
    json_t *hc = json_object_get(h->c->rec, "HostConfig");
    const char *onfail = json_string_value(json_object_get(hc, "HealthOnFailure"));
    const char *policy = json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name"));
    if (onfail && strcmp(onfail, "none")) {
      h->act = true;
      h->force_restart = !strcmp(onfail, "restart");
      if (!strcmp(onfail, "stop"))
        monitor_mark_stopped(h->c, true);
    } else if (!onfail && policy && strcmp(policy, "no")) {
      /* the restart policy decides what happens to an unhealthy container */
      h->act = true;
    }
  }
}

void health_tick(struct health *h)
{
  uint64_t n;
  if (read(h->tfd, &n, sizeof n) < 0 && errno == EAGAIN)
    return;
  if (h->pid > 0) {
    /* the check overran its timeout */
    kill(h->pid, SIGKILL);
    return;
  }
  start_check(h);
}

bool health_reaped(struct health *h, pid_t pid, int wstatus)
{
  if (!h->enabled || pid != h->pid || pid <= 0)
    return false;
  h->pid = 0;
  if (h->out >= 0)
    health_output(h);
  h->buf[h->len] = 0;
  uint64_t took = clock_us(CLOCK_MONOTONIC) - h->check_us;
  if ((int64_t)took * 1000 >= h->timeout_ns) {
    char msg[96];
    snprintf(msg, sizeof msg, "the check timed out after %.1f s", (double)h->timeout_ns / SEC);
    result(h, -1, msg);
  } else {
    result(h, proc_exit_code(wstatus), h->buf);
  }
  stop_check(h);
  set_timer(h, h->interval_ns);
  return true;
}

json_t *health_json(const struct health *h)
{
  if (!h->enabled)
    return json_null();
  return json_pack("{ss si sO}", "Status", h->status, "FailingStreak", h->streak, "Log", h->log);
}

/* The device event loop: one thread, apart from the vCPUs, that waits on
 * every device's file descriptors with epoll (queue kicks from ioeventfd,
 * tap and socket readiness, io_uring completions) and runs the device's
 * handler for each.  Device models therefore run single-threaded; vCPUs only
 * touch their registers.  Timers (rate limiting) plug in as timerfds. */
#ifndef ISOLA_VMM_EVLOOP_H
#define ISOLA_VMM_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef void (*evloop_fn)(void *ctx, uint32_t events);

struct evloop_handler;

#define EVLOOP_MAX_AFTER 16
struct evloop_after {
  void (*fn)(void *ctx);
  void *ctx;
};

struct evloop {
  int epfd;
  int stop_fd;
  int pause_fd; /* evloop_pause() asks the loop thread to park */
  pthread_t thread;
  bool running;
  struct evloop_handler *handlers; /* freed when the loop is destroyed */
  struct evloop_handler *graveyard;
  struct evloop_after after[EVLOOP_MAX_AFTER];
  int nafter;
  struct evloop_after quiesce[EVLOOP_MAX_AFTER];
  int nquiesce;
  pthread_mutex_t pause_lock;
  pthread_cond_t pause_cond;
  bool pause_req, parked;
};

int evloop_init(struct evloop *l, err_t *err);
/* Watch `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLET...); the handler runs
 * on the loop's thread.  An fd is added once. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fn fn, void *ctx, err_t *err);
void evloop_remove(struct evloop *l, int fd);
/* Run fn(ctx) after every batch of events (devices raise their interrupts
 * there, once per batch); set up before the loop starts. */
int evloop_after_batch(struct evloop *l, void (*fn)(void *ctx), void *ctx, err_t *err);
/* Run fn(ctx) when the loop is asked to pause, before it parks: devices
 * finish what they have in flight there (disks wait for their I/O), so a
 * parked loop leaves guest memory and the queues alone. */
int evloop_on_quiesce(struct evloop *l, void (*fn)(void *ctx), void *ctx, err_t *err);
/* Park the loop thread between batches (after its quiesce hooks and
 * end-of-batch hooks ran) and wait until it is parked; a loop that is not
 * running is left as it is.  Then evloop_resume() lets it go on.  For
 * snapshots: nothing touches devices or guest memory in between. */
void evloop_pause(struct evloop *l);
void evloop_resume(struct evloop *l);
/* Run the loop on its own thread until evloop_stop(). */
int evloop_start(struct evloop *l, err_t *err);
void evloop_stop(struct evloop *l);
void evloop_destroy(struct evloop *l);
/* Run handlers for what is ready now, waiting up to timeout_ms (tests). */
int evloop_poll_once(struct evloop *l, int timeout_ms);

#endif

#include "vmm/evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/sandbox.h"

struct evloop_handler {
  struct evloop_handler *next;
  bool dead; /* removed during a batch: freed after it */
  int fd;
  evloop_fn fn;
  void *ctx;
};

int evloop_init(struct evloop *l, err_t *err)
{
  memset(l, 0, sizeof(*l));
  l->stop_fd = l->pause_fd = -1;
  pthread_mutex_init(&l->pause_lock, NULL);
  pthread_cond_init(&l->pause_cond, NULL);
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0)
    return err_sys(err, "cannot create the device event loop (epoll)");
  l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->stop_fd < 0)
    return err_sys(err, "cannot create the device event loop's eventfd");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0)
    return err_sys(err, "cannot watch the device event loop's eventfd");
  l->pause_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ev.data.ptr = &l->pause_fd;
  if (l->pause_fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->pause_fd, &ev) < 0)
    return err_sys(err, "cannot set up pausing the device event loop");
  return 0;
}

static void free_list(struct evloop_handler **list)
{
  while (*list) {
    struct evloop_handler *h = *list;
    *list = h->next;
    free(h);
  }
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fn fn, void *ctx, err_t *err)
{
  struct evloop_handler *h = calloc(1, sizeof(*h));
  if (!h)
    return err_sys(err, "cannot allocate an event handler");
  *h = (struct evloop_handler){.next = l->handlers, .fd = fd, .fn = fn, .ctx = ctx};
  struct epoll_event ev = {.events = events, .data.ptr = h};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    free(h);
    return err_sys(err, "cannot watch fd %d in the device event loop", fd);
  }
  l->handlers = h;
  return 0;
}

void evloop_remove(struct evloop *l, int fd)
{
  for (struct evloop_handler **p = &l->handlers; *p; p = &(*p)->next)
    if ((*p)->fd == fd) {
      struct evloop_handler *h = *p;
      epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
      *p = h->next;
      /* The current batch may still name it: free it after the batch. */
      h->dead = true;
      h->next = l->graveyard;
      l->graveyard = h;
      return;
    }
}

static int add_hook(struct evloop_after *hooks, int *n, void (*fn)(void *ctx), void *ctx,
                    const char *what, err_t *err)
{
  if (*n == EVLOOP_MAX_AFTER)
    return err_make(err, E2BIG, "more than %d %s hooks in the device loop", EVLOOP_MAX_AFTER,
                    what);
  hooks[(*n)++] = (struct evloop_after){fn, ctx};
  return 0;
}

int evloop_after_batch(struct evloop *l, void (*fn)(void *ctx), void *ctx, err_t *err)
{
  return add_hook(l->after, &l->nafter, fn, ctx, "end-of-batch", err);
}

int evloop_on_quiesce(struct evloop *l, void (*fn)(void *ctx), void *ctx, err_t *err)
{
  return add_hook(l->quiesce, &l->nquiesce, fn, ctx, "quiesce", err);
}

static void run_hooks(const struct evloop_after *hooks, int n)
{
  for (int i = 0; i < n; i++)
    hooks[i].fn(hooks[i].ctx);
}

/* On the loop thread: finish in-flight work, interrupt for it, then wait
 * until evloop_resume(). */
static void park(struct evloop *l)
{
  uint64_t n;
  if (read(l->pause_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
    log_warn("device event loop: cannot read its pause eventfd: %s", strerror(errno));
  run_hooks(l->quiesce, l->nquiesce);
  run_hooks(l->after, l->nafter);
  pthread_mutex_lock(&l->pause_lock);
  l->parked = true;
  pthread_cond_broadcast(&l->pause_cond);
  while (l->pause_req)
    pthread_cond_wait(&l->pause_cond, &l->pause_lock);
  l->parked = false;
  pthread_cond_broadcast(&l->pause_cond);
  pthread_mutex_unlock(&l->pause_lock);
}

void evloop_pause(struct evloop *l)
{
  if (!l->running)
    return;
  pthread_mutex_lock(&l->pause_lock);
  l->pause_req = true;
  uint64_t one = 1;
  if (write(l->pause_fd, &one, sizeof(one)) < 0)
    log_warn("cannot pause the device event loop: %s", strerror(errno));
  while (!l->parked)
    pthread_cond_wait(&l->pause_cond, &l->pause_lock);
  pthread_mutex_unlock(&l->pause_lock);
}

void evloop_resume(struct evloop *l)
{
  pthread_mutex_lock(&l->pause_lock);
  l->pause_req = false;
  pthread_cond_broadcast(&l->pause_cond);
  while (l->parked) /* a pause right after finds it running */
    pthread_cond_wait(&l->pause_cond, &l->pause_lock);
  pthread_mutex_unlock(&l->pause_lock);
}

/* Returns 1 when asked to stop. */
static int dispatch(struct evloop *l, int timeout_ms)
{
  struct epoll_event evs[32];
  int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
  if (n < 0 && errno != EINTR)
    log_warn("device event loop: epoll_wait failed: %s", strerror(errno));
  int stop = 0;
  for (int i = 0; i < n && !stop; i++) {
    struct evloop_handler *h = evs[i].data.ptr;
    if (!h)
      stop = 1;
    else if ((void *)h == &l->pause_fd)
      park(l);
    else if (!h->dead)
      h->fn(h->ctx, evs[i].events);
  }
  free_list(&l->graveyard);
  if (n > 0)
    run_hooks(l->after, l->nafter);
  return stop;
}

int evloop_poll_once(struct evloop *l, int timeout_ms)
{
  return dispatch(l, timeout_ms);
}

static void *loop_thread(void *arg)
{
  struct evloop *l = arg;
  sigset_t all;
  sigfillset(&all); /* signals belong to the main thread */
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  err_t err = NULL;
  if (sandbox_apply(SANDBOX_DEVICE, &err) < 0) {
    log_err(err);
    err_free(&err);
    return NULL;
  }
  sandbox_selftest(SANDBOX_DEVICE);
  while (dispatch(l, -1) == 0) {
  }
  return NULL;
}

int evloop_start(struct evloop *l, err_t *err)
{
  int e = pthread_create(&l->thread, NULL, loop_thread, l);
  if (e) {
    errno = e;
    return err_sys(err, "cannot start the device event loop thread");
  }
  pthread_setname_np(l->thread, "isola-vmm-dev");
  l->running = true;
  return 0;
}

void evloop_stop(struct evloop *l)
{
  if (!l->running)
    return;
  uint64_t one = 1;
  if (write(l->stop_fd, &one, sizeof(one)) < 0)
    log_warn("cannot stop the device event loop: %s", strerror(errno));
  pthread_join(l->thread, NULL);
  l->running = false;
}

void evloop_destroy(struct evloop *l)
{
  evloop_stop(l);
  free_list(&l->handlers);
  free_list(&l->graveyard);
  if (l->epfd >= 0)
    close(l->epfd);
  if (l->stop_fd >= 0)
    close(l->stop_fd);
  if (l->pause_fd >= 0)
    close(l->pause_fd);
  l->epfd = l->stop_fd = l->pause_fd = -1;
  pthread_mutex_destroy(&l->pause_lock);
  pthread_cond_destroy(&l->pause_cond);
}

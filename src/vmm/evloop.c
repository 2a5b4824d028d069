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
  l->stop_fd = -1;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0)
    return err_sys(err, "cannot create the device event loop (epoll)");
  l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->stop_fd < 0)
    return err_sys(err, "cannot create the device event loop's eventfd");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0)
    return err_sys(err, "cannot watch the device event loop's eventfd");
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

int evloop_after_batch(struct evloop *l, void (*fn)(void *ctx), void *ctx, err_t *err)
{
  if (l->nafter == EVLOOP_MAX_AFTER)
    return err_make(err, E2BIG, "more than %d end-of-batch hooks in the device loop",
                    EVLOOP_MAX_AFTER);
  l->after[l->nafter++] = (struct evloop_after){fn, ctx};
  return 0;
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
    else if (!h->dead)
      h->fn(h->ctx, evs[i].events);
  }
  free_list(&l->graveyard);
  for (int i = 0; i < l->nafter && n > 0; i++)
    l->after[i].fn(l->after[i].ctx);
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
  l->epfd = l->stop_fd = -1;
}

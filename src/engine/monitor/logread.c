/* Reading a json-file log under rotation (logread.h). */
#include "engine/monitor/logread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

/* The files kept: ctr.log and at most this many rotated ones are read. */
#define LOGREAD_MAX_FILES 64

/* successor() found nothing yet: the monitor is between its renames and
 * its new ctr.log, so wait for the directory to change. */
#define NOT_YET (-2)
/* A rotation moved the files while we looked: look again at once. */
#define AGAIN (-3)

static void name_of(const struct logread *r, int k, char *out, size_t n)
{
  if (k == 0)
    snprintf(out, n, "%s", r->path);
  else
    snprintf(out, n, "%s.%d", r->path, k);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* ctr.log (k = 0) or ctr.log.K: its descriptor, -1 with errno (ENOENT: no
 * such file now). */
static int open_nth(const struct logread *r, int k, struct stat *st)
{
  char p[PATH_MAX];
  name_of(r, k, p, sizeof p);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && fstat(fd, st) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Whether name K is the file `st` now. */
static bool named(const struct logread *r, int k, const struct stat *st)
{
  char p[PATH_MAX];
  struct stat now;
  name_of(r, k, p, sizeof p);
  return stat(p, &now) == 0 && same_file(&now, st);
}

/* The complete records of `fd` from *off to its end, through `fn`; a last
 * record without its newline is still being written: it stays in r->buf
 * and *off stays before it. */
static int drain(struct logread *r, int fd, off_t *off, logread_line_fn fn, void *ctx, err_t *err)
{
  for (;;) {
    if (r->cap - r->len < 4096) {
      size_t cap = r->cap ? r->cap * 2 : 65536;
      char *b = realloc(r->buf, cap);
      if (!b)
        return err_make(err, ENOMEM, "cannot read the log `%s`: out of memory", r->path);
      r->buf = b;
      r->cap = cap;
    }
    ssize_t n = pread(fd, r->buf + r->len, r->cap - r->len, *off + (off_t)r->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return err_sys(err, "cannot read the log `%s`", r->path);
    if (n == 0)
      return 0;
    r->len += (size_t)n;
    size_t start = 0;
    for (char *nl; (nl = memchr(r->buf + start, '\n', r->len - start));) {
      size_t end = (size_t)(nl - r->buf) + 1;
      fn(r->buf + start, end - start, ctx);
      start = end;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
    *off += (off_t)start;
  }
}

/* A file the monitor no longer writes, from its start. */
static int drain_whole(struct logread *r, int fd, logread_line_fn fn, void *ctx, err_t *err)
{
  off_t off = 0;
  r->len = 0;
  int rc = drain(r, fd, &off, fn, ctx, err);
  r->len = 0;
  return rc;
}

static void set_current(struct logread *r, int fd, const struct stat *st)
{
  if (r->fd >= 0)
    close(r->fd);
  r->fd = fd;
  r->dev = st->st_dev;
  r->ino = st->st_ino;
  r->off = 0;
  r->len = 0;
}

int logread_open(struct logread *r, const char *path, int max_file, bool follow, err_t *err)
{
  memset(r, 0, sizeof *r);
  r->fd = r->watch = -1;
  r->max_file = max_file < 1 ? 1 : max_file > LOGREAD_MAX_FILES ? LOGREAD_MAX_FILES : max_file;
  r->path = strdup(path);
  if (!r->path)
    return err_make(err, ENOMEM, "out of memory");
  if (!follow)
    return 0;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  r->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (r->watch < 0 ||
      inotify_add_watch(r->watch, slash ? dir : ".",
                        IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    err_sys(err, "cannot watch `%s` for new log records", slash ? dir : ".");
    logread_close(r);
    return -1;
  }
  return 0;
}

/* Until the directory changes (or a second passes: the caller then checks
 * that the writer lives). */
static void wait_change(struct logread *r)
{
  char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  struct pollfd p = {.fd = r->watch, .events = POLLIN};
  if (r->watch >= 0 && poll(&p, 1, 1000) > 0)
    while (read(r->watch, ev, sizeof ev) > 0) {
    }
}

int logread_all(struct logread *r, logread_line_fn fn, void *ctx, logread_alive_fn alive, void *actx, err_t *err)
{
  int fds[LOGREAD_MAX_FILES];
  size_t n;
  struct stat cur;
  int curfd;
  for (;;) {
    /* newest first: a rotation during the walk then shows a file twice
     * (kept once) instead of hiding one; the set is consistent when ctr.log
     * is still the file opened first, i.e. no rotation finished meanwhile */
    n = 0;
    curfd = open_nth(r, 0, &cur);
    if (curfd < 0 && errno != ENOENT)
      return err_sys(err, "cannot open the log `%s`", r->path);
    for (int k = 1; k < r->max_file; k++) {
      struct stat st;
      int fd = open_nth(r, k, &st);
      if (fd < 0)
        continue; /* not there, or between two renames */
      bool dup = curfd >= 0 && same_file(&st, &cur);
      for (size_t i = 0; i < n && !dup; i++) {
        struct stat o;
        dup = fstat(fds[i], &o) == 0 && same_file(&st, &o);
      }
      if (dup)
        close(fd);
      else
        fds[n++] = fd;
    }
    struct stat now;
    char p[PATH_MAX];
    name_of(r, 0, p, sizeof p);
    bool have = stat(p, &now) == 0;
    /* without ctr.log the monitor is between renames (or has not begun, or
     * died): a follower of a live one waits for its new file */
    bool settled = curfd >= 0 ? have && same_file(&now, &cur) : !have && (!alive || n == 0 || !alive(actx));
    if (settled)
      break;
    if (curfd >= 0)
      close(curfd);
    for (size_t i = 0; i < n; i++)
      close(fds[i]);
    if (curfd < 0 && !have && r->watch >= 0)
      wait_change(r);
  }
  int rc = 0;
  for (size_t i = n; i-- > 0;) {
    if (rc == 0)
      rc = drain_whole(r, fds[i], fn, ctx, err);
    close(fds[i]);
  }
  if (curfd >= 0)
    set_current(r, curfd, &cur);
  if (rc == 0 && r->fd >= 0)
    rc = drain(r, r->fd, &r->off, fn, ctx, err);
  return rc;
}

/* Whether ctr.log is no longer the file being read (or there was none). */
static bool rotated(const struct logread *r)
{
  struct stat me = {.st_dev = r->dev, .st_ino = r->ino};
  return r->fd < 0 || !named(r, 0, &me);
}

/* The file that came after the current one: a descriptor (and its stat),
 * NOT_YET or AGAIN. */
static int successor(const struct logread *r, struct stat *st)
{
  if (r->fd < 0) {
    int fd = open_nth(r, 0, st);
    return fd >= 0 ? fd : NOT_YET;
  }
  struct stat me;
  if (fstat(r->fd, &me) < 0)
    return NOT_YET;
  if (me.st_nlink == 0) {
    /* dropped (max-file=1 makes a new file each time): the oldest kept */
    for (int k = r->max_file - 1; k >= 0; k--) {
      int fd = open_nth(r, k, st);
      if (fd >= 0)
        return fd;
    }
    return NOT_YET;
  }
  for (int k = 1; k < r->max_file; k++) {
    if (!named(r, k, &me))
      continue;
    int fd = open_nth(r, k - 1, st);
    if (fd < 0)
      return NOT_YET; /* the next one is still to be renamed or made */
    /* still at K: no rename moved ours, so name K-1 held the next one */
    if (named(r, k, &me) && !same_file(st, &me))
      return fd;
    close(fd);
    return AGAIN;
  }
  /* being renamed further as we looked */
  return NOT_YET;
}

/* Read on, across rotations, until at the end of ctr.log (or of a file
 * whose next one is not there yet). */
static int catch_up(struct logread *r, logread_line_fn fn, void *ctx, err_t *err)
{
  for (;;) {
    if (r->fd >= 0) {
      struct stat st;
      if (fstat(r->fd, &st) == 0 && st.st_size < r->off + (off_t)r->len) {
        /* truncated by hand: start it again */
        r->off = 0;
        r->len = 0;
      }
      if (drain(r, r->fd, &r->off, fn, ctx, err) < 0)
        return -1;
    }
    if (!rotated(r))
      return 0;
    /* the monitor renamed it before writing elsewhere: what it wrote is all
     * there now */
    if (r->fd >= 0 && drain(r, r->fd, &r->off, fn, ctx, err) < 0)
      return -1;
    struct stat st;
    int next = successor(r, &st);
    if (next == NOT_YET)
      return 0;
    if (next >= 0)
      set_current(r, next, &st);
  }
}

int logread_follow(struct logread *r, logread_line_fn fn, void *ctx, logread_alive_fn alive, void *actx, err_t *err)
{
  for (;;) {
    /* asked first: once the writer is gone, one more catch-up reads all */
    bool live = alive(actx);
    if (catch_up(r, fn, ctx, err) < 0)
      return -1;
    if (!live)
      return 0;
    wait_change(r);
  }
}

void logread_close(struct logread *r)
{
  if (r->fd >= 0)
    close(r->fd);
  if (r->watch >= 0)
    close(r->watch);
  free(r->path);
  free(r->buf);
  memset(r, 0, sizeof *r);
  r->fd = r->watch = -1;
}

#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when even the message cannot be allocated: the error must still be
 * reported, so it points at a static text and err_free() knows not to free. */
static char oom_msg[] = "out of memory while reporting an error";

static void set_msg(err_t *e, int errnum, char *msg)
{
  if (!e) { /* the caller did not want the details */
    free(msg);
    return;
  }
  err_free(e);
  err_s *n = malloc(sizeof(*n));
  if (!n) {
    static err_s oom = {ENOMEM, oom_msg};
    free(msg);
    *e = &oom;
    return;
  }
  n->errnum = errnum;
  n->msg = msg ? msg : oom_msg;
  *e = n;
}

int err_makev(err_t *e, int errnum, const char *fmt, va_list ap)
{
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  set_msg(e, errnum, msg);
  return -1;
}

int err_make(err_t *e, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  err_makev(e, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int err_sys(err_t *e, const char *fmt, ...)
{
  int errnum = errno;
  char *head = NULL, *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&head, fmt, ap) < 0)
    head = NULL;
  va_end(ap);
  if (head && asprintf(&msg, "%s: %s", head, strerror(errnum)) < 0)
    msg = NULL;
  free(head);
  set_msg(e, errnum, msg);
  return -1;
}

int err_context(err_t *e, const char *fmt, ...)
{
  char *ctx = NULL, *msg = NULL;
  if (!e)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end(ap);
  if (!ctx)
    return -1; /* keep the inner message rather than lose it */
  if (!*e) {
    set_msg(e, 0, ctx);
    return -1;
  }
  if (asprintf(&msg, "%s: %s", ctx, (*e)->msg) < 0) {
    free(ctx);
    return -1;
  }
  free(ctx);
  if ((*e)->msg != oom_msg)
    free((*e)->msg);
  (*e)->msg = msg;
  return -1;
}

int err_errnum(const err_t e)
{
  return e ? e->errnum : 0;
}

const char *err_msg(const err_t e)
{
  return e && e->msg ? e->msg : "";
}

int err_move(err_t *to, err_t *from)
{
  if (!from || from == to)
    return -1;
  if (to) {
    err_free(to);
    *to = *from;
    *from = NULL;
  } else {
    err_free(from);
  }
  return -1;
}

void err_free(err_t *e)
{
  if (!e || !*e)
    return;
  if ((*e)->msg != oom_msg) {
    free((*e)->msg);
    free(*e);
  }
  *e = NULL;
}

void err_print(const char *prog, const err_t e)
{
  fprintf(stderr, "%s: %s\n", prog, e ? err_msg(e) : "unknown error");
}

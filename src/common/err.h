/* The one error convention of isola.
 *
 * A fallible function returns a negative value and fills an error object
 * that carries the errno (0 when none applies) and a message saying what
 * failed and on what: "cannot mount `proc` on `/rootfs/proc`: Operation not
 * permitted".  Callers add context on the way up with err_context().
 * Libraries never print and never exit; the command that owns the error
 * prints it once, with err_print() or log_err().
 *
 * The NULL rule: every function taking `err_t *e` accepts NULL, in the
 * whole tree.  The error is then dropped and only the -1 remains (for
 * best-effort cleanup paths), and the function behaves exactly as with an
 * error object.  So a function never dereferences its `err_t *`: it
 * passes it on, reads it with err_get(), and when its own decision depends
 * on what a callee failed with (an errno, a message to forward or log), it
 * has the callee fill an error of its own:
 *
 *   _cleanup_err_ err_t local = NULL;
 *   err_t *e = err_or(err, &local);   (never NULL: *e is safe)
 *   if (callee(..., e) < 0 && err_errnum(*e) == ENOENT)
 *
 * The setters below (err_make, err_sys, err_context, err_move, err_free)
 * accept NULL themselves.
 */
#ifndef ISOLA_COMMON_ERR_H
#define ISOLA_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef struct err_s {
  int errnum; /* errno value of the root cause, 0 if none */
  char *msg;  /* the whole message, outermost context first */
} err_s;

typedef err_s *err_t; /* NULL: no error */

/* Fill *e with a message and an errno; returns -1 so callers can write
 * `return err_make(err, EINVAL, "...")`.  A previous error in *e is freed. */
int err_make(err_t *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int err_makev(err_t *e, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Same, taking errno and appending ": strerror(errno)". */
int err_sys(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the message in *e with "context: "; returns -1.  Without an error
 * in *e it creates one (errnum 0) so that a caller's bug still shows. */
int err_context(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* errno of the root cause, 0 when none or when e is NULL. */
int err_errnum(const err_t e);

/* The message, or "" without an error. */
const char *err_msg(const err_t e);

/* The error in *e, NULL when there is none or when e is NULL. */
static inline err_t err_get(const err_t *e)
{
  return e ? *e : NULL;
}

/* `e` itself, or `local` when the caller passed NULL: for a function that
 * must see a callee's error whatever its own caller wants. */
static inline err_t *err_or(err_t *e, err_t *local)
{
  return e ? e : local;
}

/* Hand the error in *from over to *to (freed when `to` is NULL); returns -1. */
int err_move(err_t *to, err_t *from);

/* Release *e and set it to NULL. */
void err_free(err_t *e);

/* Print "prog: message" on stderr (the command-line tools use it). */
void err_print(const char *prog, const err_t e);

#endif

/* The one error convention of isola.
 *
 * A fallible function returns a negative value and fills an error object
 * that carries the errno (0 when none applies) and a message saying what
 * failed and on what: "cannot mount `proc` on `/rootfs/proc`: Operation not
 * permitted".  Callers add context on the way up with err_context().
 * Libraries never print and never exit; the command that owns the error
 * prints it once, with err_print() or log_err().
 *
 * Every function taking `err_t *e` accepts NULL: the error is then dropped
 * and only the -1 remains (for best-effort cleanup paths).
 */
#ifndef ISOLA_COMMON_ERR_H
#define ISOLA_COMMON_ERR_H

#include <stdarg.h>

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

/* Release *e and set it to NULL. */
void err_free(err_t *e);

/* Print "prog: message" on stderr (the command-line tools use it). */
void err_print(const char *prog, const err_t e);

#endif

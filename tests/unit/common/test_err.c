#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

Test(err, make_sets_message_and_errnum_and_returns_minus_one)
{
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(err_make(&e, EINVAL, "bad `%s`", "x"), -1);
  cr_assert_str_eq(err_msg(e), "bad `x`");
  cr_assert_eq(err_errnum(e), EINVAL);
}

Test(err, sys_appends_strerror_of_errno)
{
  _cleanup_err_ err_t e = NULL;
  errno = ENOENT;
  err_sys(&e, "cannot open `%s`", "/nope");
  cr_assert_str_eq(err_msg(e), "cannot open `/nope`: No such file or directory");
  cr_assert_eq(err_errnum(e), ENOENT);
}

Test(err, context_prefixes_outermost_first_and_keeps_errnum)
{
  _cleanup_err_ err_t e = NULL;
  err_make(&e, EPERM, "cannot mount `proc`");
  err_context(&e, "preparing rootfs");
  err_context(&e, "creating container `%s`", "c1");
  cr_assert_str_eq(err_msg(e), "creating container `c1`: preparing rootfs: cannot mount `proc`");
  cr_assert_eq(err_errnum(e), EPERM);
}

Test(err, context_without_error_still_reports_something)
{
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(err_context(&e, "step %d", 3), -1);
  cr_assert_str_eq(err_msg(e), "step 3");
}

Test(err, make_replaces_a_previous_error_without_leaking)
{
  _cleanup_err_ err_t e = NULL;
  err_make(&e, 1, "first");
  err_make(&e, 2, "second");
  cr_assert_str_eq(err_msg(e), "second");
  cr_assert_eq(err_errnum(e), 2);
}

Test(err, free_resets_to_null_and_accessors_accept_null)
{
  err_t e = NULL;
  err_make(&e, 0, "x");
  err_free(&e);
  cr_assert_null(e);
  cr_assert_eq(err_errnum(e), 0);
  cr_assert_str_eq(err_msg(e), "");
  err_free(&e);
}

/* The NULL rule (err.h): every function taking `err_t *` accepts NULL. */
Test(err, setters_and_move_accept_null)
{
  cr_assert_eq(err_make(NULL, EINVAL, "dropped"), -1);
  cr_assert_eq(err_context(NULL, "dropped"), -1);
  cr_assert_null(err_get(NULL));
  err_t e = NULL;
  err_make(&e, ENOENT, "inner");
  cr_assert_eq(err_move(NULL, &e), -1);
  cr_assert_null(e, "moving to NULL frees the error");
}

Test(err, move_hands_the_error_over)
{
  _cleanup_err_ err_t to = NULL, from = NULL;
  err_make(&to, EPERM, "old");
  err_make(&from, ENOENT, "new");
  cr_assert_eq(err_move(&to, &from), -1);
  cr_assert_null(from);
  cr_assert_str_eq(err_msg(err_get(&to)), "new");
  cr_assert_eq(err_errnum(to), ENOENT);
}

Test(err, or_gives_a_local_error_when_the_caller_wants_none)
{
  _cleanup_err_ err_t local = NULL, mine = NULL;
  cr_assert_eq(err_or(NULL, &local), &local);
  cr_assert_eq(err_or(&mine, &local), &mine);
}

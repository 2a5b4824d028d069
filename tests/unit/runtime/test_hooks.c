#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "runtime/container/hooks.h"

/* A state larger than a pipe holds (64 KiB): a hook that does not read it
 * cannot take it all before it exits or while it hangs. */
static json_t *big_state(void)
{
  size_t n = 1 << 20;
  char *x = malloc(n + 1);
  cr_assert_not_null(x);
  memset(x, 'x', n);
  x[n] = '\0';
  json_t *st = json_pack("{s:s,s:s,s:{s:s}}", "ociVersion", "1.2.0", "id", "hooks-test",
                         "annotations", "big", x);
  free(x);
  cr_assert_not_null(st);
  return st;
}

static int run_hook(struct spec_hook *h, const json_t *st, err_t *err)
{
  struct spec s;
  memset(&s, 0, sizeof(s));
  s.hooks[HOOK_CREATE_RUNTIME] = h;
  s.n_hooks[HOOK_CREATE_RUNTIME] = 1;
  return hooks_run(&s, HOOK_CREATE_RUNTIME, st, err);
}

Test(hooks, a_hook_that_exits_without_reading_its_state_gets_its_status_reported)
{
  char *args[] = {"false", NULL};
  struct spec_hook h = {.path = "/bin/false", .args = args};
  _cleanup_json_ json_t *st = big_state();
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(run_hook(&h, st, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "hooks.createRuntime[0] (`/bin/false`) failed with exit status 1"),
                     "%s", err_msg(e));
}

Test(hooks, a_hook_that_hangs_without_reading_its_state_is_killed_at_its_timeout)
{
  char *args[] = {"sleep", "30", NULL};
  struct spec_hook h = {.path = "/bin/sleep", .args = args, .timeout = 1};
  _cleanup_json_ json_t *st = big_state();
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(run_hook(&h, st, &e), -1);
  cr_assert_eq(err_errnum(e), ETIMEDOUT, "%s", err_msg(e));
  cr_assert_not_null(strstr(err_msg(e), "did not finish in 1 s"), "%s", err_msg(e));
}

Test(hooks, the_state_reaches_the_hook_whole_on_stdin)
{
  char dir[] = "/tmp/isola-hooks-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  _cleanup_free_ char *out = path_join(dir, "state");
  char *args[] = {"sh", "-c", "cat > \"$0\"", out, NULL};
  struct spec_hook h = {.path = "/bin/sh", .args = args};
  _cleanup_json_ json_t *st = big_state();
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(run_hook(&h, st, &e), 0, "%s", e ? err_msg(e) : "");
  _cleanup_free_ char *want = json_dumps(st, JSON_COMPACT);
  _cleanup_free_ char *got = NULL;
  cr_assert_eq(file_read_all(out, 16 << 20, &got, NULL, &e), 0, "%s", e ? err_msg(e) : "");
  cr_assert_str_eq(got, want);
  unlink(out);
  rmdir(dir);
}

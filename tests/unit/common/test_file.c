#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

static char dir[] = "/tmp/isola-test-file-XXXXXX";

static void setup(void)
{
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(file, .init = setup, .fini = teardown);

Test(file, write_atomic_then_read_all_round_trips)
{
  _cleanup_free_ char *p = path_join(dir, "a.txt");
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(file_write_atomic(p, "hello", 5, 0600, true, &e), 0, "%s", err_msg(e));
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  cr_assert_eq(file_read_all(p, 100, &buf, &len, &e), 0);
  cr_assert_eq(len, 5);
  cr_assert_str_eq(buf, "hello");
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(file, read_all_refuses_files_over_the_limit)
{
  _cleanup_free_ char *p = path_join(dir, "big");
  _cleanup_err_ err_t e = NULL;
  char data[10000];
  memset(data, 'x', sizeof(data));
  cr_assert_eq(file_write_atomic(p, data, sizeof(data), 0600, false, &e), 0);
  _cleanup_free_ char *buf = NULL;
  cr_assert_eq(file_read_all(p, 5000, &buf, NULL, &e), -1);
  cr_assert_eq(err_errnum(e), EFBIG);
  cr_assert_null(buf);
}

Test(file, read_all_names_the_missing_file)
{
  _cleanup_err_ err_t e = NULL;
  char *buf = NULL;
  cr_assert_eq(file_read_all("/nonexistent/x", 10, &buf, NULL, &e), -1);
  cr_assert_eq(err_errnum(e), ENOENT);
  cr_assert_str_eq(err_msg(e), "cannot open `/nonexistent/x`: No such file or directory");
}

Test(file, mkdir_p_creates_nested_and_accepts_existing)
{
  _cleanup_free_ char *p = path_join(dir, "a/b/c");
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(mkdir_p(p, 0755, &e), 0, "%s", err_msg(e));
  cr_assert_eq(mkdir_p(p, 0755, &e), 0);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
}

Test(file, mkdir_p_refuses_a_file_in_the_way)
{
  _cleanup_free_ char *f = path_join(dir, "f");
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(file_write_atomic(f, "", 0, 0600, true, &e), 0);
  cr_assert_eq(mkdir_p(f, 0755, &e), -1);
  cr_assert_eq(err_errnum(e), ENOTDIR);
}

Test(file, path_join_puts_exactly_one_slash)
{
  const char *cases[][3] = {
      {"/a", "b", "/a/b"}, {"/a/", "/b", "/a/b"}, {"/", "b", "/b"}, {"a//", "b/c", "a/b/c"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    _cleanup_free_ char *j = path_join(cases[i][0], cases[i][1]);
    cr_assert_str_eq(j, cases[i][2]);
  }
}

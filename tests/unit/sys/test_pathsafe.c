/* Safe path resolution (sys/pathsafe): whatever a container's image holds,
 * `..`, absolute or relative symlinks and loops, resolving and creating paths
 * stays inside its root.  The scratch host directory holds a `secret` beside
 * the root that no path given to root_open or root_mkpath may reach. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "sys/pathsafe.h"

static char host[] = "/tmp/isola-test-pathsafe-XXXXXX";
static char rootdir[sizeof host + 8];
static int rootfd = -1;

static void put(const char *dir, const char *file, const char *content)
{
  _cleanup_free_ char *p = path_join(dir, file);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f, "%s", p);
  fputs(content, f);
  fclose(f);
}

static void link_in_root(const char *target, const char *name)
{
  _cleanup_free_ char *p = path_join(rootdir, name);
  cr_assert_eq(symlink(target, p), 0, "%s -> %s: %s", p, target, strerror(errno));
}

static bool exists(const char *dir, const char *name)
{
  _cleanup_free_ char *p = path_join(dir, name);
  struct stat st;
  return lstat(p, &st) == 0;
}

/* What the O_PATH-or-not fd opens: the first bytes of the file. */
static char *content(int fd)
{
  char proc[32];
  fd_path(fd, proc);
  char *buf = NULL;
  cr_assert_eq(file_read_all(proc, 4096, &buf, NULL, NULL), 0, "%s", proc);
  return buf;
}

/* `path` opens the root's secret, never the host's. */
static void expect_the_roots_secret(const char *path)
{
  _cleanup_err_ err_t e = NULL;
  _cleanup_close_ int fd = root_open(rootfd, path, O_RDONLY, &e);
  cr_assert_geq(fd, 0, "%s: %s", path, err_msg(e));
  _cleanup_free_ char *got = content(fd);
  cr_assert_str_eq(got, "inside", "%s opened `%s`", path, got);
}

static void setup(void)
{
  cr_assert_not_null(mkdtemp(host));
  snprintf(rootdir, sizeof rootdir, "%s/root", host);
  cr_assert_eq(mkdir(rootdir, 0755), 0);
  put(host, "secret", "outside");
  put(rootdir, "secret", "inside");
  rootfd = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cr_assert_geq(rootfd, 0);
}

static void teardown(void)
{
  close(rootfd);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", host);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(pathsafe, .init = setup, .fini = teardown);

Test(pathsafe, dotdot_stops_at_the_root)
{
  expect_the_roots_secret("/../../../secret");
}

Test(pathsafe, an_absolute_symlink_is_resolved_inside_the_root)
{
  link_in_root("/secret", "abs");
  expect_the_roots_secret("abs");
}

Test(pathsafe, a_symlink_to_a_host_path_does_not_reach_the_host)
{
  _cleanup_free_ char *outside = path_join(host, "secret");
  link_in_root(outside, "host");
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(root_open(rootfd, "host", O_RDONLY, &e), -1);
  cr_assert_eq(err_errnum(e), ENOENT, "%s", err_msg(e));
  cr_assert_not_null(strstr(err_msg(e), "`/host` in the container"), "%s", err_msg(e));
}

Test(pathsafe, a_relative_symlink_climbing_out_stops_at_the_root)
{
  _cleanup_free_ char *ab = path_join(rootdir, "a/b");
  cr_assert_eq(mkdir_p(ab, 0755, NULL), 0);
  link_in_root("../../../../secret", "a/b/up");
  expect_the_roots_secret("a/b/up");
}

Test(pathsafe, a_symlink_loop_is_an_error_not_a_hang)
{
  link_in_root("b", "a");
  link_in_root("/a", "b");
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(root_open(rootfd, "a", O_RDONLY, &e), -1);
  cr_assert_eq(err_errnum(e), ELOOP, "%s", err_msg(e));
  err_free(&e);
  cr_assert_eq(root_mkpath(rootfd, "a/dir", false, 0755, &e), -1);
  cr_assert_eq(err_errnum(e), ELOOP, "%s", err_msg(e));
}

Test(pathsafe, mkpath_makes_a_dangling_symlinks_target_inside_the_root)
{
  /* The target names the host directory itself: it must be made below the
   * root, and nothing may appear beside it on the host. */
  _cleanup_free_ char *target = path_join(host, "made");
  link_in_root(target, "dangling");
  _cleanup_err_ err_t e = NULL;
  _cleanup_close_ int fd = root_mkpath(rootfd, "/dangling/sub", false, 0755, &e);
  cr_assert_geq(fd, 0, "%s", err_msg(e));
  cr_assert(!exists(host, "made"), "root_mkpath created %s/made on the host", host);
  _cleanup_free_ char *inside = path_join(rootdir, target);
  cr_assert(exists(inside, "sub"), "%s/sub is missing", inside);
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
}

Test(pathsafe, mkpath_through_a_symlink_climbing_out_creates_inside)
{
  link_in_root("../..", "up");
  _cleanup_err_ err_t e = NULL;
  _cleanup_close_ int fd = root_mkpath(rootfd, "up/newdir", false, 0755, &e);
  cr_assert_geq(fd, 0, "%s", err_msg(e));
  cr_assert(exists(rootdir, "newdir"));
  cr_assert(!exists(host, "newdir"), "root_mkpath created %s/newdir on the host", host);
}

Test(pathsafe, mkpath_refuses_dotdot)
{
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(root_mkpath(rootfd, "a/../../escape", false, 0755, &e), -1);
  cr_assert_eq(err_errnum(e), EINVAL);
  cr_assert_not_null(strstr(err_msg(e), "must not contain `..`"), "%s", err_msg(e));
  cr_assert(!exists(host, "escape") && !exists(rootdir, "escape"));
}

Test(pathsafe, mkpath_makes_an_empty_file_last_and_keeps_an_existing_one)
{
  _cleanup_err_ err_t e = NULL;
  _cleanup_close_ int fd = root_mkpath(rootfd, "etc/hostname", true, 0644, &e);
  cr_assert_geq(fd, 0, "%s", err_msg(e));
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  cr_assert(S_ISREG(st.st_mode));
  cr_assert_eq(st.st_size, 0);
  _cleanup_close_ int again = root_mkpath(rootfd, "secret", true, 0644, &e);
  cr_assert_geq(again, 0, "%s", err_msg(e));
  _cleanup_free_ char *got = content(again);
  cr_assert_str_eq(got, "inside");
}

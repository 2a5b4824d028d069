/* cgroup v2 logic against a scratch directory laid out like cgroupfs (the
 * development hosts have v1 controllers, so v2 cannot run there for real). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "runtime/cgroup/apply.h"
#include "sys/cgroup/cgroup.h"

static char root[] = "/tmp/isola-test-cg-XXXXXX";

static void touch(const char *dir, const char *file, const char *content)
{
  _cleanup_free_ char *p = path_join(dir, file);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f, "%s", p);
  fputs(content, f);
  fclose(f);
}

static char *slurp(const char *dir, const char *file)
{
  _cleanup_free_ char *p = path_join(dir, file);
  char *buf = NULL;
  cr_assert_eq(file_read_all(p, 4096, &buf, NULL, NULL), 0, "%s", p);
  return buf;
}

static void setup(void)
{
  cr_assert_not_null(mkdtemp(root));
  touch(root, "cgroup.controllers", "cpu memory pids io\n");
  touch(root, "cgroup.subtree_control", "");
}

static void teardown(void)
{
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(cgroup_v2, .init = setup, .fini = teardown);

Test(cgroup_v2, scratch_tree_is_detected_as_v2)
{
  struct cgroup cg;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_open(root, "/isola/c1", &cg, &e), 0, "%s", err_msg(e));
  cr_assert_eq(cg.mode, CGROUP_V2);
  _cleanup_free_ char *want = path_join(root, "isola/c1");
  cr_assert_str_eq(cg.unified_dir, want);
  cgroup_close(&cg);
}

Test(cgroup_v2, paths_with_dotdot_or_relative_are_refused)
{
  struct cgroup cg;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_open(root, "/a/../../etc", &cg, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "without `..`"));
  cgroup_close(&cg);
  err_free(&e);
  cr_assert_eq(cgroup_open(root, "a/b", &cg, &e), -1);
  cgroup_close(&cg);
}

Test(cgroup_v2, controllers_are_delegated_down_every_level)
{
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_v2_enable_controllers(root, "/isola/c1", &e), 0, "%s", err_msg(e));
  /* The root delegated to /isola; /isola exists now (its own files are
   * made by the kernel on a real cgroupfs, so it has none here). */
  _cleanup_free_ char *top = slurp(root, "cgroup.subtree_control");
  cr_assert_str_eq(top, "+io"); /* one write per controller: the last stays in a plain file */
  struct stat st;
  _cleanup_free_ char *mid = path_join(root, "isola");
  cr_assert_eq(stat(mid, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
}

static void make_files(const char *dir)
{
  static const char *const files[] = {"memory.max", "memory.low", "memory.swap.max", "pids.max",
                                      "cpu.weight", "cpu.max", "cpuset.cpus", "io.weight",
                                      "hugetlb.2MB.max", "memory.high", NULL};
  cr_assert_eq(mkdir_p(dir, 0755, NULL), 0);
  for (const char *const *f = files; *f; f++)
    touch(dir, *f, "");
}

Test(cgroup_v2, resources_map_to_v2_files_and_units)
{
  _cleanup_free_ char *dir = path_join(root, "isola/c2");
  make_files(dir);
  struct spec_resources r;
  spec_resources_init(&r);
  _cleanup_json_ json_t *doc = json_loads(
      "{\"memory\":{\"limit\":67108864,\"swap\":100663296,\"reservation\":1048576},"
      "\"pids\":{\"limit\":-1},\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,"
      "\"cpus\":\"0-1\"},\"blockIO\":{\"weight\":500},"
      "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
      "\"unified\":{\"memory.high\":\"50000000\"}}",
      0, NULL);
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(spec_parse_resources(doc, "resources", &r, &e), 0, "%s", err_msg(e));
  cr_assert_eq(cgroup_v2_apply(dir, &r, &e), 0, "%s", err_msg(e));
  const char *expect[][2] = {
      {"memory.max", "67108864"},   {"memory.low", "1048576"},
      {"memory.swap.max", "33554432"}, /* v1 swap is memory+swap; v2 is swap alone */
      {"pids.max", "max"},          {"cpu.weight", "39"},
      {"cpu.max", "50000 100000"},  {"cpuset.cpus", "0-1"},
      {"io.weight", "default 4950"}, {"hugetlb.2MB.max", "4194304"},
      {"memory.high", "50000000"},
  };
  for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
    _cleanup_free_ char *got = slurp(dir, expect[i][0]);
    cr_assert_str_eq(got, expect[i][1], "%s: got `%s`, want `%s`", expect[i][0], got, expect[i][1]);
  }
  spec_resources_release(&r);
}

Test(cgroup_v2, a_missing_controller_file_is_an_error_naming_it)
{
  _cleanup_free_ char *dir = path_join(root, "isola/c3");
  cr_assert_eq(mkdir_p(dir, 0755, NULL), 0);
  struct spec_resources r;
  spec_resources_init(&r);
  r.pids_limit = 10;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_v2_apply(dir, &r, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "pids.max"), "%s", err_msg(e));
}

Test(cgroup_v2, unit_conversions_match_runc)
{
  cr_assert_eq(cgroup_shares_to_weight(2), 1);
  cr_assert_eq(cgroup_shares_to_weight(1024), 39);
  cr_assert_eq(cgroup_shares_to_weight(262144), 10000);
  cr_assert_eq(cgroup_blkio_to_io_weight(10), 1);
  cr_assert_eq(cgroup_blkio_to_io_weight(1000), 10000);
}

/* wait_gone() and cgroup_kill() pass no error object: a cgroup whose
 * directory is already gone has no processes, and nothing crashes. */
Test(cgroup_v2, a_gone_cgroup_has_no_pids_without_an_error_object)
{
  struct cgroup cg;
  cr_assert_eq(cgroup_open(root, "/isola/gone", &cg, NULL), 0);
  pid_t *pids = NULL;
  size_t n = 99;
  cr_assert_eq(cgroup_pids(&cg, &pids, &n, NULL), 0);
  cr_assert_eq(n, 0);
  cr_assert_null(pids);
  cr_assert_eq(cgroup_kill(&cg, SIGKILL, NULL), 0);
  cr_assert_eq(cgroup_destroy(&cg, NULL), 0);
  cgroup_close(&cg);
}

static void mkcg(const char *rel, const char *procs)
{
  _cleanup_free_ char *dir = path_join(root, rel);
  cr_assert_eq(mkdir_p(dir, 0755, NULL), 0, "%s", dir);
  if (procs)
    touch(dir, "cgroup.procs", procs);
}

static int cmp_pid(const void *a, const void *b)
{
  return *(const pid_t *)a - *(const pid_t *)b;
}

/* cgroup.procs lists only a cgroup's own members: `ps`, `kill --all` and
 * `delete --force` must see the processes of the cgroups below too. */
Test(cgroup_v2, pids_include_the_cgroups_below)
{
  mkcg("isola/c", "1\n");
  mkcg("isola/c/a", "2\n3\n");
  mkcg("isola/c/a/b", "4\n");
  mkcg("isola/c/empty", "");
  struct cgroup cg;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_open(root, "/isola/c", &cg, &e), 0, "%s", err_msg(e));
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  cr_assert_eq(cgroup_pids(&cg, &pids, &n, &e), 0, "%s", err_msg(e));
  cr_assert_eq(n, 4);
  qsort(pids, n, sizeof(*pids), cmp_pid);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(pids[i], (pid_t)i + 1);
  cgroup_close(&cg);
}

/* A cgroup with children cannot be removed (rmdir: EBUSY): the children
 * go first, deepest first; then the empty parents the runtime made. */
Test(cgroup_v2, destroy_removes_the_cgroups_below_deepest_first)
{
  mkcg("isola/c/a/b/deeper", NULL);
  mkcg("isola/c/x", NULL);
  struct cgroup cg;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_open(root, "/isola/c", &cg, &e), 0, "%s", err_msg(e));
  cr_assert_eq(cgroup_destroy(&cg, &e), 0, "%s", err_msg(e));
  _cleanup_free_ char *parent = path_join(root, "isola");
  cr_assert_neq(access(parent, F_OK), 0, "%s is left", parent);
  cgroup_close(&cg);
}

Test(cgroup_v2, a_cgroup_in_use_or_frozen_is_refused_for_a_new_container)
{
  struct cgroup cg;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_open(root, "/isola/c", &cg, &e), 0, "%s", err_msg(e));
  cr_assert_eq(cgroup_check_unused(&cg, &e), 0, "a cgroup that does not exist is free");
  mkcg("isola/c", "");
  mkcg("isola/c/sub", "42\n");
  cr_assert_eq(cgroup_check_unused(&cg, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "not empty: 1 process"), "%s", err_msg(e));
  err_free(&e);
  mkcg("isola/c/sub", "");
  touch(cg.unified_dir, "cgroup.freeze", "1\n");
  cr_assert_eq(cgroup_check_unused(&cg, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "is frozen"), "%s", err_msg(e));
  cr_assert_not_null(strstr(err_msg(e), "cgroup.freeze"), "%s", err_msg(e));
  err_free(&e);
  touch(cg.unified_dir, "cgroup.freeze", "0\n");
  cr_assert_eq(cgroup_check_unused(&cg, &e), 0, "%s", err_msg(e));
  cgroup_close(&cg);
}

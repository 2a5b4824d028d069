/* The host cgroup mechanism (sys/cgroup) against a scratch directory laid out
 * like cgroupfs (the development hosts have v1 controllers, so v2 cannot run
 * there for real).  Writing an OCI spec's resources: runtime/test_cgroup_apply.c. */
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
#include "sys/cgroup/cgroup.h"
#include "tests/unit/sys/cgroupfs.h"

static char *const root = cgroupfs_root;

TestSuite(cgroup_v2, .init = cgroupfs_setup, .fini = cgroupfs_teardown);

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
  _cleanup_free_ char *top = cgroupfs_read(root, "cgroup.subtree_control");
  cr_assert_str_eq(top, "+io"); /* one write per controller: the last stays in a plain file */
  struct stat st;
  _cleanup_free_ char *mid = path_join(root, "isola");
  cr_assert_eq(stat(mid, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
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
    cgroupfs_put(dir, "cgroup.procs", procs);
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
  cgroupfs_put(cg.unified_dir, "cgroup.freeze", "1\n");
  cr_assert_eq(cgroup_check_unused(&cg, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "is frozen"), "%s", err_msg(e));
  cr_assert_not_null(strstr(err_msg(e), "cgroup.freeze"), "%s", err_msg(e));
  err_free(&e);
  cgroupfs_put(cg.unified_dir, "cgroup.freeze", "0\n");
  cr_assert_eq(cgroup_check_unused(&cg, &e), 0, "%s", err_msg(e));
  cgroup_close(&cg);
}

Test(cgroup_v2, create_makes_every_level_and_enter_writes_the_pid)
{
  struct cgroup cg;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_open(root, "/isola/vmm-a/inner", &cg, &e), 0, "%s", err_msg(e));
  cr_assert_eq(cgroup_create(&cg, &e), 0, "%s", err_msg(e));
  struct stat st;
  cr_assert_eq(stat(cg.unified_dir, &st), 0, "%s", cg.unified_dir);
  cr_assert(S_ISDIR(st.st_mode));
  /* The kernel makes cgroup.procs in a real cgroup; the scratch tree needs it. */
  cgroupfs_put(cg.unified_dir, "cgroup.procs", "");
  cr_assert_eq(cgroup_enter(&cg, 4321, &e), 0, "%s", err_msg(e));
  _cleanup_free_ char *procs = cgroupfs_read(cg.unified_dir, "cgroup.procs");
  cr_assert_str_eq(procs, "4321");
  cgroup_close(&cg);
}

Test(cgroup_v2, writing_a_file_the_controller_lacks_names_it)
{
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(cgroup_write(root, "memory.max", "1", &e), -1);
  cr_assert_eq(err_errnum(e), ENOENT);
  cr_assert_not_null(strstr(err_msg(e), "memory.max"), "%s", err_msg(e));
  cr_assert_not_null(strstr(err_msg(e), "controller enabled"), "%s", err_msg(e));
}

/* v1 hierarchies mounted together ("cpu,cpuacct") answer for each of their
 * controllers, and only for whole names. */
Test(cgroup_v1, a_controller_is_found_in_a_joined_hierarchy_by_whole_name)
{
  char n0[] = "cpu,cpuacct", n1[] = "memory", n2[] = "name=systemd";
  char d0[] = "/cg/cpu", d1[] = "/cg/memory", d2[] = "/cg/systemd";
  struct cgroup cg = {.mode = CGROUP_V1, .n_v1 = 3, .v1_names = {n0, n1, n2}, .v1_dirs = {d0, d1, d2}};
  cr_assert_str_eq(cgroup_v1_dir(&cg, "cpu"), "/cg/cpu");
  cr_assert_str_eq(cgroup_v1_dir(&cg, "cpuacct"), "/cg/cpu");
  cr_assert_str_eq(cgroup_v1_dir(&cg, "memory"), "/cg/memory");
  cr_assert_null(cgroup_v1_dir(&cg, "acct"));
  cr_assert_null(cgroup_v1_dir(&cg, "mem"));
  cr_assert_null(cgroup_v1_dir(&cg, "systemd"));
  cr_assert_null(cgroup_v1_dir(&cg, "freezer"));
}

/* Writing an OCI spec's linux.resources to cgroup v2 files (runtime/cgroup),
 * against a scratch directory laid out like cgroupfs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "runtime/cgroup/apply.h"
#include "tests/unit/sys/cgroupfs.h"

static char *const root = cgroupfs_root;

TestSuite(cgroup_apply, .init = cgroupfs_setup, .fini = cgroupfs_teardown);

static void make_files(const char *dir)
{
  static const char *const files[] = {"memory.max", "memory.low", "memory.swap.max", "pids.max",
                                      "cpu.weight", "cpu.max", "cpuset.cpus", "io.weight",
                                      "hugetlb.2MB.max", "memory.high", NULL};
  cr_assert_eq(mkdir_p(dir, 0755, NULL), 0);
  for (const char *const *f = files; *f; f++)
    cgroupfs_put(dir, *f, "");
}

Test(cgroup_apply, resources_map_to_v2_files_and_units)
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
    _cleanup_free_ char *got = cgroupfs_read(dir, expect[i][0]);
    cr_assert_str_eq(got, expect[i][1], "%s: got `%s`, want `%s`", expect[i][0], got, expect[i][1]);
  }
  spec_resources_release(&r);
}

Test(cgroup_apply, a_missing_controller_file_is_an_error_naming_it)
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

Test(cgroup_apply, unit_conversions_match_runc)
{
  cr_assert_eq(cgroup_shares_to_weight(2), 1);
  cr_assert_eq(cgroup_shares_to_weight(1024), 39);
  cr_assert_eq(cgroup_shares_to_weight(262144), 10000);
  cr_assert_eq(cgroup_blkio_to_io_weight(10), 1);
  cr_assert_eq(cgroup_blkio_to_io_weight(1000), 10000);
}

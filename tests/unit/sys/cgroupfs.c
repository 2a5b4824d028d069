#include "tests/unit/sys/cgroupfs.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/file.h"

char cgroupfs_root[] = "/tmp/isola-test-cg-XXXXXX";

void cgroupfs_put(const char *dir, const char *file, const char *content)
{
  _cleanup_free_ char *p = path_join(dir, file);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f, "%s", p);
  fputs(content, f);
  fclose(f);
}

char *cgroupfs_read(const char *dir, const char *file)
{
  _cleanup_free_ char *p = path_join(dir, file);
  char *buf = NULL;
  cr_assert_eq(file_read_all(p, 4096, &buf, NULL, NULL), 0, "%s", p);
  return buf;
}

void cgroupfs_setup(void)
{
  cr_assert_not_null(mkdtemp(cgroupfs_root));
  cgroupfs_put(cgroupfs_root, "cgroup.controllers", "cpu memory pids io\n");
  cgroupfs_put(cgroupfs_root, "cgroup.subtree_control", "");
}

void cgroupfs_teardown(void)
{
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cgroupfs_root);
  cr_assert_eq(system(cmd), 0);
}

/* A scratch directory laid out like a cgroup v2 root (cgroup.controllers,
 * cgroup.subtree_control), for the cgroup tests of sys and of the runtime:
 * the development hosts have v1 controllers, so v2 cannot run there for real. */
#ifndef ISOLA_TESTS_UNIT_SYS_CGROUPFS_H
#define ISOLA_TESTS_UNIT_SYS_CGROUPFS_H

/* The scratch root, made by cgroupfs_setup. */
extern char cgroupfs_root[];

/* Criterion suite .init and .fini: make the root, remove it. */
void cgroupfs_setup(void);
void cgroupfs_teardown(void);

/* Write `content` to dir/file, creating it, as the kernel would have. */
void cgroupfs_put(const char *dir, const char *file, const char *content);
/* What dir/file holds (free it). */
char *cgroupfs_read(const char *dir, const char *file);

#endif

#include "runtime/container/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int ns_new_flags(const struct spec_linux *l)
{
  int flags = 0;
  for (size_t i = 0; i < l->n_namespaces; i++)
    if (!l->namespaces[i].path)
      flags |= l->namespaces[i].type;
  return flags;
}

static const char *ns_name(int type)
{
  switch (type) {
  case CLONE_NEWUSER: return "user";
  case CLONE_NEWPID: return "pid";
  case CLONE_NEWNET: return "network";
  case CLONE_NEWIPC: return "ipc";
  case CLONE_NEWUTS: return "uts";
  case CLONE_NEWCGROUP: return "cgroup";
  case CLONE_NEWTIME: return "time";
  case CLONE_NEWNS: return "mount";
  }
  return "?";
}

int ns_join_paths(const struct spec_linux *l, err_t *err)
{
  static const int order[] = {CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
                              CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
  int fds[8];
  for (int k = 0; k < 8; k++)
    fds[k] = -1;
  int ret = 0;
  /* Open them all first: joining the mount namespace would change what
   * the later paths mean. */
  for (size_t i = 0; i < l->n_namespaces && ret == 0; i++) {
    const struct spec_namespace *ns = &l->namespaces[i];
    if (!ns->path)
      continue;
    for (int k = 0; k < 8; k++)
      if (order[k] == ns->type) {
        fds[k] = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fds[k] < 0)
          ret = err_sys(err, "linux.namespaces: cannot open %s namespace `%s`", ns_name(ns->type),
                        ns->path);
      }
  }
  for (int k = 0; k < 8 && ret == 0; k++)
    if (fds[k] >= 0 && setns(fds[k], order[k]) < 0)
      ret = err_sys(err, "linux.namespaces: cannot join %s namespace", ns_name(order[k]));
  for (int k = 0; k < 8; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  return ret;
}

int ns_join_process(pid_t pid, err_t *err)
{
  static const struct {
    const char *file;
    int type;
  } order[] = {{"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID},       {"net", CLONE_NEWNET},
               {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},       {"cgroup", CLONE_NEWCGROUP},
               {"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS}};
  int fds[8];
  int ret = 0;
  for (int k = 0; k < 8; k++) {
    fds[k] = -1;
    char theirs[64], ours[64];
    snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, order[k].file);
    snprintf(ours, sizeof(ours), "/proc/self/ns/%s", order[k].file);
    struct stat a, b;
    if (stat(theirs, &a) < 0 || stat(ours, &b) < 0)
      continue; /* this kernel lacks the namespace kind */
    if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      continue; /* shared with us: setns into the user ns we are in fails */
    fds[k] = open(theirs, O_RDONLY | O_CLOEXEC);
    if (fds[k] < 0 && ret == 0)
      ret = err_sys(err, "cannot open `%s`", theirs);
  }
  for (int k = 0; k < 8 && ret == 0; k++)
    if (fds[k] >= 0 && setns(fds[k], order[k].type) < 0)
      ret = err_sys(err, "cannot join the container's %s namespace", order[k].file);
  for (int k = 0; k < 8; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  return ret;
}

int ns_write_time_offsets(const struct spec_linux *l, err_t *err)
{
  char buf[128];
  int n = 0;
  if (l->time_offsets.has_monotonic)
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "monotonic %lld %lld\n",
                  (long long)l->time_offsets.monotonic_secs,
                  (long long)l->time_offsets.monotonic_nanosecs);
  if (l->time_offsets.has_boottime)
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "boottime %lld %lld\n",
                  (long long)l->time_offsets.boottime_secs,
                  (long long)l->time_offsets.boottime_nanosecs);
  if (n == 0)
    return 0;
  _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, (size_t)n) < 0)
    return err_sys(err, "linux.timeOffsets: cannot write the time namespace offsets");
  return 0;
}

static int write_map(pid_t pid, const char *file, const struct spec_idmap *m, size_t n, err_t *err)
{
  char buf[4096];
  size_t len = 0;
  for (size_t i = 0; i < n && len < sizeof(buf) - 40; i++)
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
                            m[i].host_id, m[i].size);
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, len) < 0)
    return err_sys(err, "linux.%s: cannot write `%s`", strcmp(file, "uid_map") ? "gidMappings" : "uidMappings", path);
  return 0;
}

int ns_write_id_maps(pid_t pid, const struct spec_linux *l, err_t *err)
{
  if (!l->n_uid_mappings || !l->n_gid_mappings)
    return err_make(err, EINVAL, "linux.uidMappings and linux.gidMappings are required with a new "
                    "user namespace");
  if (write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err) < 0 ||
      write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err) < 0)
    return -1;
  return 0;
}

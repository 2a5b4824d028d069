#include "runtime/container/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* Without privileges a process may map only its own id, once (and for
 * gids only after denying setgroups); anything else goes through the
 * setuid helpers of shadow's uidmap package, checked against /etc/subuid
 * and /etc/subgid. */
static bool only_self(const struct spec_idmap *m, size_t n, unsigned self)
{
  return n == 1 && m[0].host_id == self && m[0].size == 1;
}

static int helper_map(const char *helper, const char *field, pid_t pid, const struct spec_idmap *m,
                      size_t n, err_t *err)
{
  if (n > 100)
    return err_make(err, E2BIG, "%s: too many mappings for %s", field, helper);
  char *argv[2 + 3 * 100 + 1];
  char nums[1 + 3 * 100][16];
  size_t a = 0, k = 0;
  argv[a++] = (char *)helper;
  snprintf(nums[k], sizeof(nums[k]), "%d", (int)pid);
  argv[a++] = nums[k++];
  for (size_t i = 0; i < n; i++) {
    unsigned v[3] = {m[i].container_id, m[i].host_id, m[i].size};
    for (int j = 0; j < 3; j++) {
      snprintf(nums[k], sizeof(nums[k]), "%u", v[j]);
      argv[a++] = nums[k++];
    }
  }
  argv[a] = NULL;
  pid_t c = fork();
  if (c < 0)
    return err_sys(err, "%s: cannot fork for %s", field, helper);
  if (c == 0) {
    execvp(helper, argv);
    _exit(errno == ENOENT ? 127 : 126);
  }
  int st;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
    return err_make(err, ENOENT, "%s: mapping ids other than your own without root needs %s "
                    "(Debian package uidmap)", field, helper);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return err_make(err, EPERM, "%s: %s refused the mapping (are the host ids in /etc/sub%cid "
                    "for uid %u?)", field, helper, helper[3] == 'u' ? 'u' : 'g',
                    (unsigned)geteuid());
  return 0;
}

int ns_write_id_maps(pid_t pid, const struct spec_linux *l, err_t *err)
{
  if (!l->n_uid_mappings || !l->n_gid_mappings)
    return err_make(err, EINVAL, "linux.uidMappings and linux.gidMappings are required with a new "
                    "user namespace");
  bool root = geteuid() == 0;
  if (root || only_self(l->uid_mappings, l->n_uid_mappings, (unsigned)geteuid())) {
    if (write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err) < 0)
      return -1;
  } else if (helper_map("newuidmap", "linux.uidMappings", pid, l->uid_mappings, l->n_uid_mappings,
                        err) < 0) {
    return -1;
  }
  if (root)
    return write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err);
  if (only_self(l->gid_mappings, l->n_gid_mappings, (unsigned)getegid())) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "deny", 4) != 4)
      return err_sys(err, "linux.gidMappings: cannot deny setgroups in `%s`", path);
    return write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err);
  }
  return helper_map("newgidmap", "linux.gidMappings", pid, l->gid_mappings, l->n_gid_mappings, err);
}

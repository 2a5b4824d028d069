#include "vmm/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "sys/cgroup/cgroup.h"
#include "sys/mntns.h"
#include "vmm/vm.h"

int jail_add_cgroup(struct jail_config *j, const char *arg, err_t *err)
{
  const char *eq = strchr(arg, '=');
  const char *dot = strchr(arg, '.');
  if (!eq || !dot || dot > eq || dot == arg || memchr(arg, '/', (size_t)(eq - arg)))
    return err_make(err, EINVAL, "--jail-cgroup `%s`: expected FILE=VALUE with FILE a cgroup file such as "
                    "memory.limit_in_bytes or cpu.max", arg);
  if (j->ncgroup == JAIL_MAX_CGROUP)
    return err_make(err, E2BIG, "more than %d --jail-cgroup settings", JAIL_MAX_CGROUP);
  j->cgroup[j->ncgroup++] = arg;
  return 0;
}

/* ---- the parent: the cgroup ---- */

/* FILE=VALUE into the directory of FILE's controller (v1), or the unified
 * one (v2 and hybrid, for controllers no v1 hierarchy has). */
static int write_limit(const struct cgroup *cg, const char *arg, err_t *err)
{
  const char *eq = strchr(arg, '=');
  _cleanup_free_ char *file = strndup(arg, (size_t)(eq - arg));
  _cleanup_free_ char *ctl = file ? strndup(file, strcspn(file, ".")) : NULL;
  if (!ctl)
    return err_make(err, ENOMEM, "out of memory");
  const char *dir = cgroup_v1_dir(cg, ctl);
  if (!dir)
    dir = cg->unified_dir;
  if (!dir)
    return err_make(err, ENOENT, "--jail-cgroup %s: this host has no `%s` controller", arg, ctl);
  if (cgroup_write(dir, file, eq + 1, err) < 0)
    return err_context(err, "--jail-cgroup %s", arg);
  return 0;
}

static int make_cgroup(const struct jail_config *j, const char *id, struct cgroup *cg, err_t *err)
{
  char path[128];
  snprintf(path, sizeof path, "/isola/vmm-%s", id);
  if (cgroup_open(j->cgroup_root ? j->cgroup_root : CGROUP_ROOT, path, cg, err) < 0)
    return -1;
  pid_t *pids = NULL;
  size_t n = 0;
  err_t pe = NULL;
  int r = cgroup_pids(cg, &pids, &n, &pe);
  err_free(&pe);
  if (r == 0 && n) {
    free(pids);
    return err_make(err, EBUSY, "jail `%s` is in use: cgroup isola/vmm-%s has %zu processes", id, id, n);
  }
  free(pids);
  cgroup_destroy(cg, NULL); /* a stale one, left by a killed parent */
  if (cgroup_create(cg, err) < 0) {
    cgroup_destroy(cg, NULL); /* the hierarchies it got to */
    return err_context(err, "jail `%s`", id);
  }
  for (int i = 0; i < j->ncgroup; i++)
    if (write_limit(cg, j->cgroup[i], err) < 0) {
      cgroup_destroy(cg, NULL);
      return -1;
    }
  return 0;
}

/* ---- the child: namespaces, root, credentials ---- */

static int make_dev(const char *path, unsigned maj, unsigned min, const struct jail_config *j, err_t *err)
{
  if (mknod(path, S_IFCHR | 0600, makedev(maj, min)) < 0)
    return err_sys(err, "cannot make %s in the jail", path);
  if (chown(path, j->uid, j->gid) < 0)
    return err_sys(err, "cannot give %s to uid %u", path, (unsigned)j->uid);
  return 0;
}

/* `dir` is absolute (mntns_pivot_root enters it by name). */
static int enter_root(const struct jail_config *j, const char *dir, err_t *err)
{
  if (mntns_unshare_private(err) < 0)
    return err_context(err, "jail `%s`", dir);
  if (mntns_bind_self(dir, err) < 0)
    return err_context(err, "jail `%s`", dir);
  if (chdir(dir) < 0)
    return err_sys(err, "cannot enter the jail `%s`", dir);
  if (mkdir("dev", 0755) < 0 && errno != EEXIST)
    return err_sys(err, "cannot make `%s/dev`", dir);
  /* a tmpfs: the device nodes go with the namespace, nothing is left in DIR */
  if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
    return err_sys(err, "cannot mount the jail's /dev");
  if (mkdir("dev/net", 0755) < 0)
    return err_sys(err, "cannot make the jail's /dev/net");
  if (make_dev("dev/kvm", 10, 232, j, err) < 0 || make_dev("dev/net/tun", 10, 200, j, err) < 0)
    return -1;
  return mntns_pivot_root(dir, err); /* as a container's root */
}

static int drop(const struct jail_config *j, err_t *err)
{
  if (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0)
    return err_sys(err, "cannot change to gid %u", (unsigned)j->gid);
  if (setresuid(j->uid, j->uid, j->uid) < 0)
    return err_sys(err, "cannot change to uid %u", (unsigned)j->uid);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return err_sys(err, "cannot set no_new_privs");
  return 0;
}

static int child(const struct jail_config *j, const char *dir, const struct cgroup *cg, err_t *err)
{
  if (j->netns) {
    _cleanup_close_ int fd = open(j->netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return err_sys(err, "--jail-netns: cannot open `%s`", j->netns);
    if (setns(fd, CLONE_NEWNET) < 0)
      return err_sys(err, "--jail-netns: cannot join `%s`", j->netns);
  }
  if (cgroup_enter(cg, getpid(), err) < 0 || enter_root(j, dir, err) < 0 || drop(j, err) < 0)
    return -1;
  return 0;
}

/* ---- the parent: supervision ---- */

static int supervise(pid_t pid, int *status)
{
  sigset_t set;
  vm_handled_signals(&set);
  sigaddset(&set, SIGCHLD);
  for (;;) {
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return 0;
    }
    siginfo_t si;
    struct timespec tick = {1, 0}; /* SIGCHLD may be lost when coalesced: look again */
    int sig = sigtimedwait(&set, &si, &tick);
    if (sig > 0 && sig != SIGCHLD)
      kill(pid, sig);
  }
}

int jail_enter(const struct jail_config *j, int *status, err_t *err)
{
  struct stat st;
  if (stat(j->dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return err_make(err, ENOTDIR, "--jail `%s` is not a directory", j->dir);
  _cleanup_free_ char *dir = realpath(j->dir, NULL);
  if (!dir)
    return err_sys(err, "--jail `%s`", j->dir);
  char idbuf[24];
  snprintf(idbuf, sizeof idbuf, "%d", (int)getpid());
  const char *id = j->id ? j->id : idbuf;
  if (!*id || strchr(id, '/') || strlen(id) > 64)
    return err_make(err, EINVAL, "--jail-id `%s`: use 1 to 64 characters without `/`", id);
  struct cgroup cg = {0};
  if (make_cgroup(j, id, &cg, err) < 0) {
    cgroup_close(&cg);
    return -1;
  }
  sigset_t handled, old;
  vm_handled_signals(&handled);
  sigaddset(&handled, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &handled, &old); /* for the parent's sigtimedwait */
  pid_t pid = fork();
  if (pid < 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    cgroup_destroy(&cg, NULL);
    cgroup_close(&cg);
    return err_sys(err, "cannot fork the jailed VMM");
  }
  if (pid == 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the parent holds the cgroup: without it, stop */
    int r = child(j, dir, &cg, err);
    cgroup_close(&cg);
    if (r < 0)
      return -1;
    log_debug("jailed in `%s` as uid %u gid %u (cgroup isola/vmm-%s)", dir, (unsigned)j->uid,
              (unsigned)j->gid, id);
    return 0;
  }
  supervise(pid, status);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  err_t e = NULL;
  if (cgroup_destroy(&cg, &e) < 0) {
    log_warn("jail `%s`: %s", id, err_msg(e));
    err_free(&e);
  }
  cgroup_close(&cg);
  return 1;
}

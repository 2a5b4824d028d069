#include "runtime/container/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char **env, const char *name)
{
  size_t n = strlen(name);
  for (char **e = env; e && *e; e++)
    if (!strncmp(*e, name, n) && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

/* The process's environment as runc completes it: HOME when process.env
 * has none (the user's home in the container's /etc/passwd, or `/`: shells,
 * git and pip rely on it), and for socket activation LISTEN_FDS with this
 * process's own pid as LISTEN_PID (runc's "1" in a pid namespace).  Read in
 * the container's root before anything is dropped; NULL on allocation
 * failure, else an array whose entries from *ours on are ours (free_env). */
static char **env_complete(const struct spec_process *p, int listen_fds, size_t *ours)
{
  _cleanup_free_ char *home = NULL;
  bool want_home = !env_get(p->env, "HOME");
  FILE *f = want_home ? fopen("/etc/passwd", "re") : NULL;
  if (f) {
    struct passwd *pw;
    while ((pw = fgetpwent(f)))
      if (pw->pw_uid == p->user.uid) {
        home = pw->pw_dir && *pw->pw_dir ? strdup(pw->pw_dir) : NULL;
        break;
      }
    fclose(f);
  }
  size_t n = 0;
  while (p->env && p->env[n])
    n++;
  char **env = calloc(n + 4, sizeof(*env));
  if (!env)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (listen_fds <= 0 || (strncmp(p->env[i], "LISTEN_FDS=", 11) && strncmp(p->env[i], "LISTEN_PID=", 11)))
      env[k++] = p->env[i];
  *ours = k;
  bool ok = !want_home || asprintf(&env[k++], "HOME=%s", home ? home : "/") >= 0;
  if (ok && listen_fds > 0)
    ok = asprintf(&env[k++], "LISTEN_FDS=%d", listen_fds) >= 0 &&
         asprintf(&env[k++], "LISTEN_PID=%d", (int)getpid()) >= 0;
  if (!ok) {
    env[k - 1] = NULL;
    for (size_t i = *ours; env[i]; i++)
      free(env[i]);
    free(env);
    return NULL;
  }
  return env;
}

static void free_env(char **env, size_t ours)
{
  for (size_t i = ours; env[i]; i++)
    free(env[i]);
  free(env);
}

static int check_exec(const char *path, const char *arg0, char **out, err_t *err)
{
  struct stat st;
  if (stat(path, &st) < 0)
    return err_sys(err, "exec: `%s`", arg0);
  if (S_ISDIR(st.st_mode))
    return err_make(err, EACCES, "exec: `%s` is a directory: permission denied", arg0);
  if (!(st.st_mode & 0111))
    return err_make(err, EACCES, "exec: `%s`: permission denied (not executable)", arg0);
  *out = strdup(path);
  return *out ? 0 : err_sys(err, "exec");
}

int process_find_exec(const struct spec_process *p, char **out, err_t *err)
{
  const char *arg0 = p->args[0];
  if (strchr(arg0, '/'))
    return check_exec(arg0, arg0, out, err);
  const char *path = env_get(p->env, "PATH");
  _cleanup_free_ char *dirs = strdup(path ? path : DEFAULT_PATH);
  if (!dirs)
    return err_sys(err, "exec");
  char *save = NULL;
  for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    _cleanup_free_ char *cand = path_join(*d ? d : ".", arg0);
    struct stat st;
    if (cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
      return check_exec(cand, arg0, out, err);
  }
  return err_make(err, ENOENT, "exec: `%s`: executable file not found in $PATH", arg0);
}

int process_apply_limits(const struct spec_process *p, err_t *err)
{
  for (size_t i = 0; i < p->n_rlimits; i++) {
    struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
    if (setrlimit(p->rlimits[i].resource, &rl) < 0)
      return err_sys(err, "process.rlimits[%zu]: cannot set soft %llu hard %llu%s", i,
                     (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
                     errno == EPERM ? " (raising a hard limit needs CAP_SYS_RESOURCE)" : "");
  }
  if (p->has_oom_score_adj) {
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
      return err_sys(err, "process.oomScoreAdj: cannot set %d", p->oom_score_adj);
  }
  if (p->user.umask >= 0)
    umask((mode_t)p->user.umask);
  return 0;
}

void process_close_fds(int preserve_fds, int keep)
{
  int first = 3 + (preserve_fds > 0 ? preserve_fds : 0);
  _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
  if (!d)
    return;
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (fd >= first && fd != self && fd != keep)
      fcntl(fd, F_SETFD, FD_CLOEXEC); /* close at exec: errors can still be reported */
  }
}

static int capset_sets(const uint64_t caps[SPEC_CAP_SETS], err_t *err)
{
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  for (int i = 0; i < 2; i++) {
    d[i].effective = (uint32_t)(caps[CAPS_EFFECTIVE] >> (32 * i));
    d[i].permitted = (uint32_t)(caps[CAPS_PERMITTED] >> (32 * i));
    d[i].inheritable = (uint32_t)(caps[CAPS_INHERITABLE] >> (32 * i));
  }
  if (syscall(SYS_capset, &h, d) < 0)
    return err_sys(err, "cannot set process.capabilities");
  return 0;
}

static int drop_bounding(uint64_t keep, err_t *err)
{
  for (int c = 0; c <= 63; c++) {
    if (keep & (1ULL << c))
      continue;
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
      break; /* beyond the kernel's last capability */
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
      return err_sys(err, "cannot drop capability %d from the bounding set", c);
  }
  return 0;
}

/* capabilities(7): a capability can be ambient only while it is both
 * permitted and inheritable; the kernel refuses others with EPERM (and
 * unknown ones with EINVAL).  Buildah asks for ambient capabilities with an
 * empty inheritable set; runc and crun skip what the kernel refuses, and so
 * do we: the process then runs without those ambient capabilities, which
 * is all the configured sets allow. */
static int raise_ambient(uint64_t ambient, err_t *err)
{
  for (int c = 0; c <= 63; c++)
    if ((ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 &&
        errno != EPERM && errno != EINVAL)
      return err_sys(err, "cannot raise ambient capability %d", c);
  return 0;
}

/* A user namespace set up without privileges denies setgroups(2). */
static bool setgroups_denied(void)
{
  char buf[16] = "";
  _cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  return fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && !strncmp(buf, "deny", 4);
}

static int set_user(const struct spec_user *u, bool setgroups_allowed, err_t *err)
{
  if (setgroups_allowed) {
    gid_t *g = calloc(u->n_additional_gids + 1, sizeof(gid_t));
    if (!g)
      return err_sys(err, "groups");
    for (size_t i = 0; i < u->n_additional_gids; i++)
      g[i] = u->additional_gids[i];
    int r = setgroups(u->n_additional_gids, g);
    free(g);
    /* Only a denied setgroups (rootless, one gid mapped) is looked into, so
     * the common path pays no extra syscalls. */
    if (r < 0 && errno == EPERM && setgroups_denied()) {
      if (u->n_additional_gids)
        return err_make(err, EPERM, "process.user.additionalGids: setgroups is denied in this "
                        "user namespace (rootless with a single gid mapping; map more gids "
                        "through newgidmap)");
    } else if (r < 0) {
      return err_sys(err, "cannot set process.user.additionalGids");
    }
  }
  if (setresgid(u->gid, u->gid, u->gid) < 0)
    return err_sys(err, "cannot set process.user.gid to %u", u->gid);
  if (setresuid(u->uid, u->uid, u->uid) < 0)
    return err_sys(err, "cannot set process.user.uid to %u", u->uid);
  return 0;
}

static int exec_as(const struct spec_process *p, const struct spec_seccomp *seccomp, int sync_fd,
                   const char *exec_path, bool setgroups_allowed, char **env, err_t *err);

int process_exec(const struct spec_process *p, const struct spec_seccomp *seccomp, int sync_fd,
                 const char *exec_path, bool setgroups_allowed, int listen_fds, err_t *err)
{
  size_t ours = 0;
  char **env = env_complete(p, listen_fds, &ours);
  if (!env)
    return err_sys(err, "exec: cannot complete the environment");
  int r = exec_as(p, seccomp, sync_fd, exec_path, setgroups_allowed, env, err);
  free_env(env, ours);
  return r;
}

static int exec_as(const struct spec_process *p, const struct spec_seccomp *seccomp, int sync_fd,
                   const char *exec_path, bool setgroups_allowed, char **env, err_t *err)
{
  uint64_t caps[SPEC_CAP_SETS];
  if (p->has_caps)
    memcpy(caps, p->caps, sizeof(caps));
  else
    memset(caps, 0, sizeof(caps)); /* no capabilities object: none at all */
  if (drop_bounding(caps[CAPS_BOUNDING], err) < 0)
    return -1;
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN in the
   * effective set, which the change to a non-root uid clears: load it
   * first then (as runc does), so the filter must allow what follows.
   * With no_new_privs, load it last so that it sees as few of our own
   * syscalls as possible. */
  if (seccomp && !p->no_new_privileges && seccomp_apply(seccomp, sync_fd, err) < 0)
    return -1;
  /* Keep permitted capabilities across the uid change, then set exactly
   * the configured sets. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return err_sys(err, "PR_SET_KEEPCAPS");
  if (set_user(&p->user, setgroups_allowed, err) < 0)
    return -1;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return err_sys(err, "PR_SET_KEEPCAPS");
  if (chdir(p->cwd) < 0)
    return err_sys(err, "process.cwd: cannot enter `%s`", p->cwd);
  if (lsm_apply(p, err) < 0)
    return -1;
  if (capset_sets(caps, err) < 0 || raise_ambient(caps[CAPS_AMBIENT], err) < 0)
    return -1;
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return err_sys(err, "cannot set process.noNewPrivileges");
  if (seccomp && p->no_new_privileges && seccomp_apply(seccomp, sync_fd, err) < 0)
    return -1;
  execve(exec_path, p->args, env);
  return err_sys(err, "exec: `%s`", p->args[0]);
}

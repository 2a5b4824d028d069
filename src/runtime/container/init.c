#include "runtime/container/init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "runtime/container/console.h"
#include "runtime/container/hooks.h"
#include "runtime/container/loopback.h"
#include "runtime/container/namespaces.h"
#include "runtime/container/process.h"
#include "runtime/container/rootfs.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"
#include "sys/pathsafe.h"

static json_t *state_for_hooks(const struct init_ctx *ctx, const char *status)
{
  return oci_state_json(ctx->id, status, getpid(), ctx->bundle, ctx->spec->annotations);
}

static int apply_sysctl(const struct spec_linux *l, err_t *err)
{
  if (!l->sysctl)
    return 0;
  const char *k;
  json_t *v;
  json_object_foreach(l->sysctl, k, v)
  {
    char path[512];
    int n = snprintf(path, sizeof(path), "/proc/sys/%s", k);
    for (char *p = path + 10; p < path + n; p++)
      if (*p == '.')
        *p = '/';
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    const char *val = json_string_value(v);
    if (fd < 0 || write(fd, val, strlen(val)) < 0)
      return err_sys(err, "linux.sysctl: cannot set `%s` to `%s`", k, val);
  }
  return 0;
}

static int set_names(const struct spec *s, err_t *err)
{
  if (s->hostname && *s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
    return err_sys(err, "hostname: cannot set `%s`%s", s->hostname,
                   errno == EPERM ? " (it needs a new uts namespace)" : "");
  if (s->domainname && *s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
    return err_sys(err, "domainname: cannot set `%s`", s->domainname);
  return 0;
}

static bool ns_listed(const struct spec_linux *l, int type)
{
  for (size_t i = 0; i < l->n_namespaces; i++)
    if (l->namespaces[i].type == type)
      return true;
  return false;
}

/* linux.namespaces may leave out the mount namespace (a conformance run
 * does): the container then shares the caller's, as with runc. */
static bool shares_caller_mntns(const struct init_ctx *ctx)
{
  struct stat st;
  if (ctx->caller_mntns_ino && stat("/proc/self/ns/mnt", &st) == 0)
    return st.st_dev == ctx->caller_mntns_dev && st.st_ino == ctx->caller_mntns_ino;
  return !ns_listed(&ctx->spec->linux_, CLONE_NEWNS);
}

/* Without a uts namespace of its own, sethostname renames the host: runc
 * refuses that too. */
static int check_names(const struct spec *s, err_t *err)
{
  bool host = s->hostname && *s->hostname, domain = s->domainname && *s->domainname;
  if ((host || domain) && !ns_listed(&s->linux_, CLONE_NEWUTS))
    return err_make(err, EINVAL, "%s: setting `%s` needs a uts namespace of the container's own "
                    "(add {\"type\": \"uts\"} to linux.namespaces): without one it would "
                    "rename the host", host ? "hostname" : "domainname",
                    host ? s->hostname : s->domainname);
  return 0;
}

/* The namespace a sysctl belongs to (0: none we know of), after crun's
 * list: written without it, it would change the host's setting. */
static int sysctl_namespace(const char *k, const char **what)
{
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                    "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                    "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
  for (const char *const *i = ipc; *i; i++)
    if (!strcmp(k, *i))
      return *what = "ipc", CLONE_NEWIPC;
  if (!strncmp(k, "fs.mqueue.", 10))
    return *what = "ipc", CLONE_NEWIPC;
  if (!strncmp(k, "net.", 4))
    return *what = "network", CLONE_NEWNET;
  if (!strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname"))
    return *what = "uts", CLONE_NEWUTS;
  return 0;
}

/* Refused as crun refuses them, before anything is changed. */
static int check_sysctl(const struct spec *s, err_t *err)
{
  const char *k;
  json_t *v;
  json_object_foreach(s->linux_.sysctl, k, v)
  {
    const char *what = NULL;
    int ns = sysctl_namespace(k, &what);
    if (ns && !ns_listed(&s->linux_, ns))
      return err_make(err, EINVAL, "linux.sysctl: `%s` needs a%s %s namespace of the container's "
                      "own (add {\"type\": \"%s\"} to linux.namespaces): without one it would "
                      "change the host's", k, ns == CLONE_NEWIPC ? "n" : "", what, what);
    const char *field = !strcmp(k, "kernel.hostname") ? s->hostname
                        : !strcmp(k, "kernel.domainname") ? s->domainname : NULL;
    if (field && *field && strcmp(field, json_string_value(v)))
      return err_make(err, EINVAL, "linux.sysctl: `%s` = `%s` conflicts with %s `%s`: set one "
                      "of them", k, json_string_value(v), k + strlen("kernel."), field);
  }
  return 0;
}

static int setup(const struct init_ctx *ctx, bool shared_mntns, char **exec_path, err_t *err)
{
  const struct spec *s = ctx->spec;
  struct rootfs_ctx rc = {.spec = s, .rootfs = ctx->rootfs, .cg = ctx->cg, .userns = ctx->userns,
                          .cgroupns = (ns_new_flags(&s->linux_) & CLONE_NEWCGROUP) != 0, .no_pivot = ctx->no_pivot,
                          .shared_mntns = shared_mntns, .idmap_fds = ctx->idmap_fds};
  /* stage1 and this process share the socket: wait until the runtime has
   * read our pid from stage1, so that our messages cannot overtake it. */
  if (sync_recv(ctx->sync_fd, SYNC_GO, NULL, err) < 0)
    return -1;
  if (check_names(s, err) < 0 || check_sysctl(s, err) < 0)
    return -1;
  if (s->linux_.has_personality && personality(s->linux_.personality) < 0)
    return err_sys(err, "linux.personality");
  if (ctx->console_fd < 0 && setsid() < 0)
    return err_sys(err, "setsid");
  if ((ns_new_flags(&s->linux_) & CLONE_NEWNET) && loopback_up(err) < 0)
    return -1;
  if (rootfs_prepare(&rc, err) < 0)
    return -1;
  /* prestart and createRuntime run in the runtime's namespaces: ask. */
  if (sync_send(ctx->sync_fd, SYNC_HOOKS, 0, err) < 0 ||
      sync_recv(ctx->sync_fd, SYNC_HOOKS_DONE, NULL, err) < 0)
    return -1;
  _cleanup_json_ json_t *st = state_for_hooks(ctx, "created");
  if (hooks_run(s, HOOK_CREATE_CONTAINER, st, err) < 0)
    return -1;
  if (rootfs_pivot(&rc, err) < 0 || apply_sysctl(&s->linux_, err) < 0)
    return -1;
  /* runc makes a missing process.cwd (an image's WORKDIR that is not in
   * its layers); after pivot_root its symlinks resolve inside the root, and
   * before root.readonly takes effect. */
  struct stat cwd_st;
  if (stat(s->process.cwd, &cwd_st) < 0 && errno == ENOENT && mkdir_p(s->process.cwd, 0755, err) < 0)
    return err_context(err, "process.cwd");
  if (ctx->console_fd >= 0 &&
      console_setup(ctx->console_fd, s->process.console_height, s->process.console_width, 1, err) < 0)
    return -1;
  if (rootfs_finish(&rc, err) < 0 || set_names(s, err) < 0)
    return -1;
  if (process_apply_limits(&s->process, err) < 0 || process_find_exec(&s->process, exec_path, err) < 0)
    return -1;
  /* A seccomp listener must reach the engine through the runtime, which
   * only waits until we are ready: load such a filter now (as runc does). */
  if (s->linux_.seccomp && s->linux_.seccomp->listener_path &&
      seccomp_apply(s->linux_.seccomp, ctx->sync_fd, err) < 0)
    return -1;
  return 0;
}

void init_main(const struct init_ctx *ctx)
{
  err_t err = NULL;
  _cleanup_free_ char *exec_path = NULL;
  /* Sharing the caller's mounts, the chroot has no /proc of ours: mark the
   * inherited fds now, and reach exec.fifo through the caller's /proc. */
  bool shared = shares_caller_mntns(ctx);
  _cleanup_close_ int proc = shared ? open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (shared)
    process_close_fds(ctx->preserve_fds, ctx->fifo_fd);
  if (setup(ctx, shared, &exec_path, &err) < 0) {
    sync_send_error(ctx->sync_fd, err);
    _exit(1);
  }
  if (ctx->console_fd >= 0)
    close(ctx->console_fd);
  if (!shared)
    process_close_fds(ctx->preserve_fds, ctx->fifo_fd);
  if (sync_send(ctx->sync_fd, SYNC_READY, 0, &err) < 0)
    _exit(1);
  close(ctx->sync_fd);

  /* Wait for `start`: opening the fifo for writing blocks until it opens
   * it for reading (runtime.md: start runs the user-specified program). */
  char p[32];
  fd_path(ctx->fifo_fd, p);
  int w = proc >= 0 ? openat(proc, p + strlen("/proc/"), O_WRONLY | O_CLOEXEC)
                    : open(p, O_WRONLY | O_CLOEXEC);
  if (w < 0 || write(w, "0", 1) != 1) {
    fprintf(stderr, "isola-runtime: cannot wait for start on exec.fifo: %s\n", strerror(errno));
    _exit(1);
  }
  close(w);
  close(ctx->fifo_fd);

  const struct spec_seccomp *seccomp_late = ctx->spec->linux_.seccomp;
  if (seccomp_late && seccomp_late->listener_path)
    seccomp_late = NULL; /* loaded during setup */
  _cleanup_json_ json_t *st = state_for_hooks(ctx, "running");
  if (hooks_run(ctx->spec, HOOK_START_CONTAINER, st, &err) < 0 ||
      process_exec(&ctx->spec->process, seccomp_late, -1, exec_path,
                   true, ctx->listen_fds, &err) < 0) {
    fprintf(stderr, "isola-runtime: %s\n", err_msg(err));
    _exit(errno == ENOENT ? 127 : 126);
  }
  _exit(127);
}

/* `create`: the runtime side.  It forks a first child that enters and makes
 * the namespaces, which forks the init (so that it is inside a new pid
 * namespace), puts them in the cgroup, writes id maps, runs the runtime's
 * hooks, and records the state once the init is waiting for `start`.
 * Any failure undoes all of it: processes, cgroup, state directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/cgroup/apply.h"
#include "runtime/container/console.h"
#include "runtime/container/container.h"
#include "runtime/container/hooks.h"
#include "runtime/container/init.h"
#include "runtime/container/namespaces.h"
#include "runtime/container/idmap.h"
#include "runtime/container/process.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"

static char *container_cgroup_path(const struct spec *s, const char *id)
{
  char *p = NULL;
  const char *cp = s->linux_.cgroups_path;
  if (!cp || !*cp)
    return asprintf(&p, "/isola/%s", id) < 0 ? NULL : p;
  return asprintf(&p, "%s%s", cp[0] == '/' ? "" : "/", cp) < 0 ? NULL : p;
}

/* The first child: namespaces, then the init. */
__attribute__((noreturn)) static void stage1(struct init_ctx *ctx)
{
  err_t err = NULL;
  const struct spec_linux *l = &ctx->spec->linux_;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int no_cgroup = 0;
  if (sync_recv(ctx->sync_fd, SYNC_GO, &no_cgroup, &err) < 0)
    _exit(1);
  if (no_cgroup) { /* rootless without one: the init must not look for it */
    static struct cgroup none;
    if (cgroup_open(CGROUP_ROOT, "", &none, &err) < 0)
      goto fail;
    ctx->cg = &none;
  }
  int flags = ns_new_flags(l);
  if (ns_join_paths(l, &err) < 0)
    goto fail;
  if (flags && unshare(flags) < 0) {
    err_sys(&err, "cannot create namespaces (linux.namespaces)");
    goto fail;
  }
  if (flags & CLONE_NEWUSER) {
    if (sync_send(ctx->sync_fd, SYNC_USERMAP, 0, &err) < 0 ||
        sync_recv(ctx->sync_fd, SYNC_USERMAP_DONE, NULL, &err) < 0)
      goto fail;
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
      err_sys(&err, "cannot become root in the new user namespace (map uid 0 in linux.uidMappings)");
      goto fail;
    }
  }
  if (ns_write_time_offsets(l, &err) < 0)
    goto fail;
  pid_t init = fork();
  if (init < 0) {
    err_sys(&err, "cannot fork the container's init");
    goto fail;
  }
  if (init == 0)
    init_main(ctx);
  sync_send(ctx->sync_fd, SYNC_PID, init, NULL);
  _exit(0);
fail:
  sync_send_error(ctx->sync_fd, err);
  _exit(1);
}

struct create_job {
  struct container c;
  struct cgroup cg;
  bool cg_made;
  bool dir_made;
  pid_t stage1, init;
  int sock;
  int console;
  int fifo;
};

/* Rootless and no cgroup was delegated to us: carry on without one, as runc
 * does, unless the config asks for a limit that needs it.  `why` is the
 * error cgroup_create() failed with (moved to err when that is final). */
static int rootless_without_cgroup(struct create_job *j, const struct spec_resources *r,
                                   err_t *why, err_t *err)
{
  int e = err_errnum(err_get(why));
  if (geteuid() == 0 || (e != EACCES && e != EPERM && e != EROFS))
    return err_move(err, why);
  const char *what = spec_resources_first_limit(r);
  if (what) {
    err_move(err, why);
    return err_context(err, "rootless: linux.resources.%s needs a cgroup delegated to uid %u",
                       what, (unsigned)geteuid());
  }
  log_debug("rootless: running without a cgroup (%s)", err_msg(err_get(why)));
  err_free(why);
  cgroup_destroy(&j->cg, NULL); /* levels made before the refusal */
  cgroup_close(&j->cg);
  free(j->c.cgroup_path);
  j->c.cgroup_path = strdup("");
  if (!j->c.cgroup_path)
    return err_sys(err, "cgroup path");
  return cgroup_open(CGROUP_ROOT, "", &j->cg, err);
}

static void undo(struct create_job *j)
{
  if (j->init > 0)
    kill(j->init, SIGKILL);
  if (j->stage1 > 0) {
    kill(j->stage1, SIGKILL);
    waitpid(j->stage1, NULL, 0);
  }
  if (j->init > 0)
    waitpid(j->init, NULL, __WALL); /* reaped only when we are its subreaper */
  if (j->cg_made) {
    cgroup_kill(&j->cg, SIGKILL, NULL);
    cgroup_destroy(&j->cg, NULL);
  }
  if (j->dir_made) {
    char *fifo = container_fifo_path(&j->c);
    _cleanup_free_ char *st = path_join(j->c.dir, "state.json");
    unlink(fifo);
    free(fifo);
    unlink(st);
    rmdir(j->c.dir);
  }
}

static int prepare_paths(const struct create_opts *o, const struct spec *s, struct container *c,
                         err_t *err)
{
  char buf[PATH_MAX];
  if (!realpath(o->bundle, buf))
    return err_sys(err, "bundle `%s`", o->bundle);
  c->bundle = strdup(buf);
  _cleanup_free_ char *rootfs = s->root_path[0] == '/' ? strdup(s->root_path)
                                                       : path_join(c->bundle, s->root_path);
  if (!realpath(rootfs, buf))
    return err_sys(err, "root.path `%s`", rootfs);
  c->rootfs = strdup(buf);
  c->id = strdup(o->id);
  c->dir = path_join(o->root, o->id);
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof(now));
  c->created = strdup(now);
  c->owner = getuid();
  c->creator = getpid();
  c->creator_start_time = proc_start_time(c->creator);
  c->annotations = json_incref(s->annotations);
  c->config = json_incref(s->json);
  c->cgroup_path = container_cgroup_path(s, o->id);
  if (!c->bundle || !c->rootfs || !c->id || !c->dir || !c->created || !c->cgroup_path)
    return err_sys(err, "create");
  return 0;
}

static int make_state_dir(const struct create_opts *o, struct create_job *j, err_t *err)
{
  if (mkdir_p(o->root, 0700, err) < 0)
    return err_context(err, "state root");
  if (mkdir(j->c.dir, 0700) < 0) {
    if (errno == EEXIST)
      return err_make(err, EEXIST, "container `%s` already exists", o->id);
    return err_sys(err, "cannot create `%s`", j->c.dir);
  }
  j->dir_made = true;
  /* Recorded before anything else exists, so that `delete --force` can
   * clean up after a create that was killed halfway. */
  if (container_save(&j->c, err) < 0)
    return -1;
  _cleanup_free_ char *fifo = container_fifo_path(&j->c);
  if (mkfifo(fifo, 0600) < 0)
    return err_sys(err, "cannot create `%s`", fifo);
  j->fifo = open(fifo, O_PATH | O_CLOEXEC);
  if (j->fifo < 0)
    return err_sys(err, "cannot open `%s`", fifo);
  return 0;
}

/* The host id that id 0 of the container maps to (0 without a mapping). */
static uint32_t host_root_id(const struct spec_idmap *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (m[i].container_id == 0 && m[i].size > 0)
      return m[i].host_id;
  return 0;
}

/* In a user namespace the init opens the fifo as the container's root,
 * which is an unprivileged user on the host. */
static int chown_fifo(const struct create_job *j, const struct spec_linux *l, err_t *err)
{
  if (!(ns_new_flags(l) & CLONE_NEWUSER))
    return 0;
  _cleanup_free_ char *fifo = container_fifo_path(&j->c);
  if (chown(fifo, host_root_id(l->uid_mappings, l->n_uid_mappings),
            host_root_id(l->gid_mappings, l->n_gid_mappings)) < 0)
    return err_sys(err, "cannot hand `%s` to the container's root", fifo);
  return 0;
}

static int run_parent(const struct create_opts *o, const struct spec *s, struct create_job *j,
                      int child_sock, err_t *err)
{
  const struct spec_linux *l = &s->linux_;
  struct init_ctx ctx = {.spec = s, .rootfs = j->c.rootfs, .id = j->c.id, .bundle = j->c.bundle,
                         .cg = &j->cg, .sync_fd = child_sock, .console_fd = j->console,
                         .fifo_fd = j->fifo, .userns = (ns_new_flags(l) & CLONE_NEWUSER) != 0,
                         .no_pivot = o->no_pivot, .preserve_fds = o->preserve_fds,
                         .listen_fds = o->listen_fds};
  struct stat mntns;
  if (stat("/proc/self/ns/mnt", &mntns) == 0) {
    ctx.caller_mntns_dev = mntns.st_dev;
    ctx.caller_mntns_ino = mntns.st_ino;
  }
  /* Idmapped mounts take their mappings from user namespaces made here, on
   * the host, before the container's own exist; the init inherits them. */
  int *idmap = NULL;
  if (idmap_open_all(s, &idmap, err) < 0) {
    close(child_sock);
    return -1;
  }
  ctx.idmap_fds = idmap;
  if (o->subreaper)
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  j->stage1 = fork();
  if (j->stage1 < 0) {
    close(child_sock);
    idmap_close_all(idmap, s->n_mounts);
    return err_sys(err, "cannot fork");
  }
  if (j->stage1 == 0) {
    close(j->sock);
    stage1(&ctx);
  }
  close(child_sock);
  idmap_close_all(idmap, s->n_mounts);
  if (j->console >= 0) {
    close(j->console);
    j->console = -1;
  }
  _cleanup_err_ err_t cg_err = NULL;
  if (cgroup_create(&j->cg, &cg_err) < 0) {
    if (rootless_without_cgroup(j, &l->resources, &cg_err, err) < 0)
      return -1;
  } else {
    j->cg_made = true;
  }
  if (cgroup_enter(&j->cg, j->stage1, err) < 0 ||
      cgroup_apply(&j->cg, &l->resources, false, err) < 0)
    return err_context(err, "cgroup `%s`", j->cg.path);
  if (sync_send(j->sock, SYNC_GO, j->cg.none, err) < 0)
    return -1;
  if (ns_new_flags(l) & CLONE_NEWUSER) {
    if (sync_recv(j->sock, SYNC_USERMAP, NULL, err) < 0 ||
        ns_write_id_maps(j->stage1, l, err) < 0 ||
        sync_send(j->sock, SYNC_USERMAP_DONE, 0, err) < 0)
      return -1;
  }
  int pid = 0;
  if (sync_recv(j->sock, SYNC_PID, &pid, err) < 0)
    return -1;
  j->init = pid;
  waitpid(j->stage1, NULL, 0);
  j->stage1 = 0;
  if (sync_send(j->sock, SYNC_GO, 0, err) < 0)
    return -1;
  if (sync_recv(j->sock, SYNC_HOOKS, NULL, err) < 0)
    return -1;
  _cleanup_json_ json_t *st = oci_state_json(j->c.id, "creating", j->init, j->c.bundle,
                                              j->c.annotations);
  if (hooks_run(s, HOOK_PRESTART, st, err) < 0 || hooks_run(s, HOOK_CREATE_RUNTIME, st, err) < 0 ||
      sync_send(j->sock, SYNC_HOOKS_DONE, 0, err) < 0)
    return -1;
  const struct spec_seccomp *sc = s->linux_.seccomp;
  if (sc && sc->listener_path) {
    if (seccomp_listener_relay(j->sock, sc, j->init, st, err) < 0)
      return -1;
  }
  if (sync_recv(j->sock, SYNC_READY, NULL, err) < 0)
    return -1;
  j->c.pid = j->init;
  j->c.start_time = proc_start_time(j->init);
  if (container_save(&j->c, err) < 0)
    return -1;
  if (o->pid_file && pid_file_write(o->pid_file, j->init, err) < 0)
    return -1;
  return 0;
}

int container_create(const struct create_opts *o, pid_t *init_pid, err_t *err)
{
  if (container_check_id(o->id, err) < 0)
    return -1;
  _cleanup_free_ char *cfg = path_join(o->bundle, "config.json");
  _cleanup_spec_ struct spec *s = NULL;
  if (spec_load(cfg, &s, err) < 0)
    return -1;
  if (!s->has_process)
    return err_make(err, EINVAL, "%s: process: required to create a container", cfg);
  if (s->process.terminal && !o->console_socket && o->console_fd <= 0)
    return err_make(err, EINVAL,
                    "%s: process.terminal is true: give --console-socket (or use `run` in the "
                    "foreground, which keeps the terminal itself)", cfg);
  struct create_job j = {.sock = -1, .console = -1, .fifo = -1};
  int child_sock = -1;
  int ret = -1;
  if (prepare_paths(o, s, &j.c, err) < 0 || make_state_dir(o, &j, err) < 0 ||
      chown_fifo(&j, &s->linux_, err) < 0)
    goto out;
  if (cgroup_open(CGROUP_ROOT, j.c.cgroup_path, &j.cg, err) < 0 ||
      cgroup_check_unused(&j.cg, err) < 0)
    goto out;
  if (s->process.terminal) {
    j.console = o->console_socket ? console_connect(o->console_socket, err)
                                  : fcntl(o->console_fd, F_DUPFD_CLOEXEC, 3);
    if (j.console < 0) {
      if (!o->console_socket)
        err_sys(err, "dup");
      goto out;
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    err_sys(err, "socketpair");
    goto out;
  }
  j.sock = sv[0];
  child_sock = sv[1];
  ret = run_parent(o, s, &j, child_sock, err);
  child_sock = -1;
out:
  if (ret < 0) {
    undo(&j);
    err_context(err, "cannot create container `%s`", o->id);
  } else {
    *init_pid = j.init;
  }
  if (child_sock >= 0)
    close(child_sock);
  if (j.sock >= 0)
    close(j.sock);
  if (j.console >= 0)
    close(j.console);
  if (j.fifo >= 0)
    close(j.fifo);
  cgroup_close(&j.cg);
  container_release(&j.c);
  return ret;
}

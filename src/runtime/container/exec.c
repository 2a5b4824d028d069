/* `exec`: run another process in a running container's namespaces and
 * cgroup, with its own process settings and the container's seccomp
 * profile. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "sys/cgroup/cgroup.h"
#include "runtime/container/console.h"
#include "runtime/container/ttyproxy.h"
#include "runtime/container/container.h"
#include "runtime/container/namespaces.h"
#include "common/json.h"
#include "runtime/container/process.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"

struct exec_ctx {
  const struct exec_opts *o;
  const struct spec *spec; /* the container's config, for seccomp */
  pid_t target;
  int sync_fd;
  int console_fd;
};

__attribute__((noreturn)) static void exec_child(const struct exec_ctx *x)
{
  err_t err = NULL;
  _cleanup_free_ char *path = NULL;
  const struct spec_process *p = x->o->process;
  if (x->console_fd >= 0) {
    if (console_setup(x->console_fd, p->console_height, p->console_width, 0, &err) < 0)
      goto fail;
    close(x->console_fd);
  } else {
    setsid();
  }
  if (process_apply_limits(p, &err) < 0 || process_find_exec(p, &path, &err) < 0)
    goto fail;
  process_close_fds(x->o->preserve_fds, -1);
  /* On success execve closes sync_fd (close-on-exec): the runtime reads
   * end-of-file and knows the program is running. */
  process_exec(p, x->spec->linux_.seccomp, x->sync_fd, path, true, 0, &err);
fail:
  sync_send_error(x->sync_fd, err);
  _exit(err_errnum(err) == ENOENT ? 127 : 126);
}

/* A container without a mount namespace of its own is only chrooted
 * (rootfs.h): joining its namespaces gives no root then.  So the init's
 * root is opened before joining (while /proc is still ours) and entered
 * after; for a container that pivoted, it is the root setns gave. */
static int open_root(pid_t target, err_t *err)
{
  char root[64];
  snprintf(root, sizeof(root), "/proc/%d/root", (int)target);
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd >= 0 ? fd : err_sys(err, "cannot open the container's root `%s`", root);
}

static int enter_root(int fd, err_t *err)
{
  if (fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
    return err_sys(err, "cannot enter the container's root");
  return 0;
}

__attribute__((noreturn)) static void exec_stage1(const struct exec_ctx *x)
{
  err_t err = NULL;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (sync_recv(x->sync_fd, SYNC_GO, NULL, &err) < 0)
    _exit(1);
  int root = open_root(x->target, &err);
  if (root < 0 || ns_join_process(x->target, &err) < 0 || enter_root(root, &err) < 0) {
    sync_send_error(x->sync_fd, err);
    _exit(1);
  }
  close(root);
  pid_t child = fork();
  if (child < 0) {
    err_sys(&err, "cannot fork");
    sync_send_error(x->sync_fd, err);
    _exit(1);
  }
  if (child == 0)
    exec_child(x);
  sync_send(x->sync_fd, SYNC_PID, child, NULL);
  _exit(0);
}

/* End-of-file: the program was executed; SYNC_ERROR: it was not. */
static int wait_exec(int fd, err_t *err)
{
  struct sync_msg m;
  ssize_t n;
  do
    n = recv(fd, &m, sizeof(m) - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n == 0)
    return 0;
  if (n < 0)
    return err_sys(err, "exec");
  ((char *)&m)[n] = '\0';
  return err_make(err, m.errnum, "%s", m.type == SYNC_ERROR ? m.text : "unexpected message");
}

int container_exec(const struct exec_opts *o, int *status, err_t *err)
{
  _cleanup_container_ struct container c;
  struct cgroup cg = {0};
  _cleanup_spec_ struct spec *s = NULL;
  int sv[2] = {-1, -1}, console = -1, tty_ours = -1, master = -1, ret = -1;
  pid_t stage1 = -1, child = -1;
  *status = 0;
  if (container_load(o->root, o->id, &c, err) < 0)
    goto out;
  if (cgroup_open(CGROUP_ROOT, c.cgroup_path, &cg, err) < 0)
    goto out;
  enum container_status st = container_status(&c, &cg);
  if (st != STATUS_RUNNING && st != STATUS_CREATED) {
    err_make(err, EINVAL, "cannot exec in container `%s`: it is %s", o->id, container_status_name(st));
    goto out;
  }
  if (spec_parse(c.config, "config", &s, err) < 0)
    goto out;
  if (o->process->terminal) {
    if (o->console_socket) {
      if ((console = console_connect(o->console_socket, err)) < 0)
        goto out;
    } else if (o->detach) {
      err_make(err, EINVAL, "process.terminal is true: --detach needs --console-socket");
      goto out;
    } else if (tty_socketpair(&tty_ours, &console, err) < 0) {
      goto out; /* in the foreground we keep the terminal, as runc does */
    }
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    err_sys(err, "socketpair");
    goto out;
  }
  if (!o->detach)
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct exec_ctx x = {.o = o, .spec = s, .target = c.pid, .sync_fd = sv[1], .console_fd = console};
  stage1 = fork();
  if (stage1 < 0) {
    err_sys(err, "cannot fork");
    goto out;
  }
  if (stage1 == 0) {
    close(sv[0]);
    exec_stage1(&x);
  }
  close(sv[1]);
  sv[1] = -1;
  if (console >= 0) {
    close(console);
    console = -1;
  }
  int pid = 0;
  if (cgroup_enter(&cg, stage1, err) < 0 || sync_send(sv[0], SYNC_GO, 0, err) < 0 ||
      sync_recv(sv[0], SYNC_PID, &pid, err) < 0)
    goto out;
  child = pid;
  waitpid(stage1, NULL, 0);
  stage1 = -1;
  const struct spec_seccomp *sc = s->linux_.seccomp;
  if (sc && sc->listener_path) {
    _cleanup_json_ json_t *pstate = oci_state_json(c.id, "running", c.pid, c.bundle, c.annotations);
    if (seccomp_listener_relay(sv[0], sc, child, pstate, err) < 0) {
      kill(child, SIGKILL);
      goto out;
    }
  }
  if (wait_exec(sv[0], err) < 0)
    goto out;
  if (o->pid_file && pid_file_write(o->pid_file, child, err) < 0) {
    kill(child, SIGKILL);
    goto out;
  }
  if (tty_ours >= 0 && (master = tty_receive(tty_ours, err)) < 0) {
    kill(child, SIGKILL);
    goto out;
  }
  ret = 0;
  if (master >= 0) {
    *status = tty_proxy_wait(master, child);
    master = -1;
  } else if (!o->detach) {
    *status = wait_forwarding(child);
  }
out:
  if (ret < 0) {
    if (stage1 > 0) {
      kill(stage1, SIGKILL);
      waitpid(stage1, NULL, 0);
    }
    if (child > 0 && !o->detach)
      waitpid(child, NULL, 0);
    err_context(err, "cannot exec in container `%s`", o->id);
  }
  if (sv[0] >= 0)
    close(sv[0]);
  if (sv[1] >= 0)
    close(sv[1]);
  if (console >= 0)
    close(console);
  if (tty_ours >= 0)
    close(tty_ours);
  if (master >= 0)
    close(master);
  cgroup_close(&cg);
  return ret;
}

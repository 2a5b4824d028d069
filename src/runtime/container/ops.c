/* start, kill, delete, state, pause/resume, list, ps, update, stats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/cgroup/apply.h"
#include "runtime/container/container.h"
#include "runtime/container/hooks.h"
#include "runtime/container/state.h"

static int load(const char *root, const char *id, struct container *c, struct cgroup *cg,
                err_t *err)
{
  if (container_load(root, id, c, err) < 0)
    return -1;
  if (cg && cgroup_open(CGROUP_ROOT, c->cgroup_path, cg, err) < 0)
    return -1;
  return 0;
}

static bool alive(pid_t pid)
{
  return kill(pid, 0) == 0 || errno == EPERM;
}

int container_start(const char *root, const char *id, err_t *err)
{
  _cleanup_container_ struct container c;
  if (load(root, id, &c, NULL, err) < 0)
    return -1;
  enum container_status st = container_status(&c, NULL);
  if (st != STATUS_CREATED)
    return err_make(err, EINVAL, "cannot start container `%s`: it is %s, not created", id,
                    container_status_name(st));
  _cleanup_free_ char *fifo = container_fifo_path(&c);
  /* Non-blocking open succeeds at once; the init's blocked open for
   * writing then completes and it writes one byte. */
  _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open `%s`", fifo);
  char b;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, 100);
    if (r > 0 && read(fd, &b, 1) == 1)
      break;
    if (r < 0 && errno != EINTR)
      return err_sys(err, "poll");
    if (!alive(c.pid))
      return err_make(err, ESRCH, "cannot start container `%s`: its init process exited", id);
  }
  unlink(fifo);
  _cleanup_json_ json_t *state = container_state_json(&c);
  _cleanup_err_ err_t hook_err = NULL;
  if (hooks_run_json(c.config, HOOK_POSTSTART, state, &hook_err) < 0)
    log_warn("%s", err_msg(hook_err)); /* runtime.md: logged, the container runs */
  return 0;
}

int container_kill(const char *root, const char *id, int sig, bool all, err_t *err)
{
  _cleanup_container_ struct container c;
  struct cgroup cg = {0};
  int ret = -1;
  if (load(root, id, &c, &cg, err) < 0)
    goto out;
  enum container_status st = container_status(&c, &cg);
  if (st == STATUS_STOPPED || st == STATUS_CREATING) {
    if (all) {
      ret = cgroup_kill(&cg, sig, err); /* stragglers of a dead init */
      goto out;
    }
    err_make(err, ESRCH, "container `%s` is not running", id);
    goto out;
  }
  if (all)
    ret = cgroup_kill(&cg, sig, err);
  else if (kill(c.pid, sig) < 0)
    ret = err_sys(err, "cannot send signal %d to container `%s`", sig, id);
  else
    ret = 0;
  /* A paused container must run to act on the signal. */
  if (ret == 0 && st == STATUS_PAUSED && sig == SIGKILL)
    cgroup_freeze(&cg, false, NULL);
out:
  cgroup_close(&cg);
  return ret;
}

static void wait_gone(const struct cgroup *cg, pid_t pid)
{
  for (int i = 0; i < 1000; i++) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (cgroup_pids(cg, &pids, &n, NULL) < 0 || n == 0)
      break;
    usleep(2000);
  }
  /* Our own child when `run` made it: reap it so it is not a zombie. */
  waitpid(pid, NULL, WNOHANG);
}

static int remove_dir(const struct container *c, err_t *err)
{
  _cleanup_free_ char *fifo = container_fifo_path(c);
  _cleanup_free_ char *st = path_join(c->dir, "state.json");
  unlink(fifo);
  unlink(st);
  if (rmdir(c->dir) < 0 && errno != ENOENT)
    return err_sys(err, "cannot remove `%s`", c->dir);
  return 0;
}

int container_delete(const char *root, const char *id, bool force, err_t *err)
{
  _cleanup_container_ struct container c;
  _cleanup_json_ json_t *state = NULL;
  _cleanup_err_ err_t hook_err = NULL; /* before the first goto: it is cleaned at `out` */
  struct cgroup cg = {0};
  int ret = -1;
  if (container_load(root, id, &c, err) < 0) {
    /* A create killed before it wrote state.json leaves a bare directory. */
    /* --force succeeds on what is not there (runc's behaviour, which engines
     * rely on after a failed create), and removes the bare directory a
     * create killed before writing state.json leaves. */
    _cleanup_free_ char *dir = path_join(root, id);
    if (force && container_check_id(id, NULL) == 0) {
      _cleanup_free_ char *fifo = path_join(dir, "exec.fifo");
      unlink(fifo);
      rmdir(dir);
      err_free(err);
      return 0;
    }
    return -1;
  }
  if (cgroup_open(CGROUP_ROOT, c.cgroup_path, &cg, err) < 0)
    goto out;
  enum container_status st = container_status(&c, &cg);
  if ((st == STATUS_RUNNING || st == STATUS_PAUSED) && !force) {
    err_make(err, EBUSY, "cannot delete container `%s`: it is %s (stop it, or use --force)", id,
             container_status_name(st));
    goto out;
  }
  if (st == STATUS_CREATED || st == STATUS_RUNNING || st == STATUS_PAUSED)
    kill(c.pid, SIGKILL);
  cgroup_kill(&cg, SIGKILL, NULL);
  wait_gone(&cg, c.pid);
  if (cgroup_destroy(&cg, err) < 0)
    goto out;
  state = container_state_json(&c);
  if (state)
    json_object_set_new(state, "status", json_string("stopped"));
  if (hooks_run_json(c.config, HOOK_POSTSTOP, state, &hook_err) < 0)
    log_warn("%s", err_msg(hook_err)); /* runtime.md: poststop failures are logged only */
  ret = remove_dir(&c, err);
out:
  cgroup_close(&cg);
  return ret;
}

int container_state(const char *root, const char *id, json_t **out, err_t *err)
{
  _cleanup_container_ struct container c;
  if (container_load(root, id, &c, err) < 0)
    return -1;
  *out = container_state_json(&c);
  return *out ? 0 : err_make(err, ENOMEM, "state");
}

int container_pause(const char *root, const char *id, bool pause, err_t *err)
{
  _cleanup_container_ struct container c;
  struct cgroup cg = {0};
  int ret = -1;
  if (load(root, id, &c, &cg, err) < 0)
    goto out;
  enum container_status st = container_status(&c, &cg);
  if (pause && st != STATUS_RUNNING && st != STATUS_CREATED) {
    err_make(err, EINVAL, "cannot pause container `%s`: it is %s", id, container_status_name(st));
    goto out;
  }
  if (!pause && st != STATUS_PAUSED) {
    err_make(err, EINVAL, "cannot resume container `%s`: it is %s, not paused", id,
             container_status_name(st));
    goto out;
  }
  ret = cgroup_freeze(&cg, pause, err);
out:
  cgroup_close(&cg);
  return ret;
}

/* runc lists containers sorted by id (it reads the directory with
 * os.ReadDir, which sorts); tools diff the listing, so do the same. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

int container_list(const char *root, json_t **out, err_t *err)
{
  *out = json_array();
  struct dirent **names = NULL;
  int n = scandir(root, &names, NULL, by_name);
  if (n < 0)
    return errno == ENOENT ? 0 : err_sys(err, "cannot list `%s`", root);
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      struct container c;
      if (container_load(root, names[i]->d_name, &c, NULL) == 0) {
        json_t *s = container_state_json(&c);
        if (s)
          json_array_append_new(*out, s);
      }
      container_release(&c);
    }
    free(names[i]);
  }
  free(names);
  return 0;
}

int container_pids(const char *root, const char *id, pid_t **pids, size_t *n, err_t *err)
{
  _cleanup_container_ struct container c;
  struct cgroup cg = {0};
  int ret = -1;
  if (load(root, id, &c, &cg, err) == 0)
    ret = cgroup_pids(&cg, pids, n, err);
  /* Without a cgroup (rootless) only the init is known for sure. */
  if (ret == 0 && cg.none && container_status(&c, &cg) != STATUS_STOPPED) {
    if (!(*pids = malloc(sizeof(pid_t))))
      ret = err_sys(err, "pids");
    else
      (*pids)[0] = c.pid, *n = 1;
  }
  cgroup_close(&cg);
  return ret;
}

int container_update(const char *root, const char *id, const json_t *resources, err_t *err)
{
  _cleanup_container_ struct container c;
  struct cgroup cg = {0};
  struct spec_resources r;
  spec_resources_init(&r);
  int ret = -1;
  if (load(root, id, &c, &cg, err) < 0)
    goto out;
  if (spec_parse_resources(resources, "resources", &r, err) < 0)
    goto out;
  if (container_status(&c, &cg) == STATUS_STOPPED) {
    err_make(err, EINVAL, "cannot update container `%s`: it is stopped", id);
    goto out;
  }
  ret = cgroup_apply(&cg, &r, true, err);
  if (ret == 0 && c.config) {
    /* Keep the recorded config in step, as runc does for later `exec`s and
     * `events`. */
    json_t *lx = json_object_get(c.config, "linux");
    if (lx) {
      json_t *cur = json_object_get(lx, "resources");
      if (!cur)
        json_object_set_new(lx, "resources", cur = json_object());
      json_object_update_recursive(cur, (json_t *)resources);
      ret = container_save(&c, err);
    }
  }
out:
  spec_resources_release(&r);
  cgroup_close(&cg);
  return ret;
}

int container_stats(const char *root, const char *id, json_t **out, err_t *err)
{
  _cleanup_container_ struct container c;
  struct cgroup cg = {0};
  int ret = -1;
  if (load(root, id, &c, &cg, err) == 0)
    ret = cgroup_stats(&cg, out, err);
  cgroup_close(&cg);
  return ret;
}

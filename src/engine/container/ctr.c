/* Container records, their locks and their status (ctr.h). */
#include "engine/container/ctr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/base/proc.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/rootfs.h"

#define DEFAULT_ROOT "/var/lib/isola"

const char *engine_root = DEFAULT_ROOT;

char *engine_path(const char *rel)
{
  return path_join(engine_root, rel);
}

const char *engine_run_root(void)
{
  static char *run;
  if (!run) {
    if (!strcmp(engine_root, DEFAULT_ROOT))
      run = strdup("/run/isola");
    else
      run = path_join(engine_root, "run");
  }
  return run;
}

char *engine_run_path(const char *rel)
{
  return path_join(engine_run_root(), rel);
}

char *engine_helper(const char *name)
{
  static const struct {
    const char *name, *env;
  } envs[] = {{"isola-runtime", "ISOLA_RUNTIME"}, {"isola-vmm", "ISOLA_VMM"}, {"isola-init", "ISOLA_INIT"}};
  for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
    const char *v = strcmp(envs[i].name, name) ? NULL : getenv(envs[i].env);
    if (v && *v)
      return strdup(v);
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return strdup(name);
  self[n] = 0;
  const char *dir = dirname(self);
  /* installed side by side, libexec, then the build tree */
  static const char *const where[] = {"", "/../libexec/isola", "/../runtime", "/../vmm", "/../../guest/init"};
  for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
    char *p = NULL;
    if (asprintf(&p, "%s%s/%s", dir, where[i], name) < 0)
      return NULL;
    if (access(p, X_OK) == 0)
      return p;
    free(p);
  }
  return strdup(name); /* $PATH */
}

void ctr_new_id(char id[CTR_ID_LEN + 1])
{
  unsigned char raw[CTR_ID_LEN / 2];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
    for (size_t i = 0; i < sizeof raw; i++)
      raw[i] = (unsigned char)(rand() ^ getpid() ^ (int)time(NULL));
  }
  for (size_t i = 0; i < sizeof raw; i++)
    snprintf(id + 2 * i, 3, "%02x", raw[i]);
  /* IDs never look like numbers: some tools parse an all-digit prefix */
  if (id[0] >= '0' && id[0] <= '9')
    id[0] = (char)('a' + (id[0] - '0') % 6);
}

static char *ctr_dir(const char *id)
{
  char rel[CTR_ID_LEN + 16];
  snprintf(rel, sizeof rel, "containers/%s", id);
  return engine_path(rel);
}

const char *ctr_name(const struct ctr *c)
{
  const char *n = json_string_value(json_object_get(c->rec, "Name"));
  return n ? n : "";
}

int ctr_reload_state(struct ctr *c, err_t *err)
{
  _cleanup_free_ char *p = path_join(c->dir, "state.json");
  json_t *s = NULL;
  if (json_load_path(p, &s, err) < 0)
    return -1;
  json_decref(c->state);
  c->state = s;
  return 0;
}

int ctr_save_state(const struct ctr *c, err_t *err)
{
  _cleanup_free_ char *p = path_join(c->dir, "state.json");
  return json_write_path(p, c->state, JSON_INDENT(2), false, err);
}

int ctr_open_id(const char *id, struct ctr *c, err_t *err)
{
  memset(c, 0, sizeof *c);
  c->lock_fd = -1;
  snprintf(c->id, sizeof c->id, "%s", id);
  c->dir = ctr_dir(id);
  char rel[CTR_ID_LEN + 16];
  snprintf(rel, sizeof rel, "containers/%s", id);
  c->rundir = engine_run_path(rel);
  _cleanup_free_ char *p = path_join(c->dir, "container.json");
  if (json_load_path(p, &c->rec, err) < 0 || ctr_reload_state(c, err) < 0) {
    ctr_close(c);
    return -1;
  }
  return 0;
}

void ctr_close(struct ctr *c)
{
  ctr_unlock(c);
  free(c->dir);
  free(c->rundir);
  json_decref(c->rec);
  json_decref(c->state);
  c->dir = c->rundir = NULL;
  c->rec = c->state = NULL;
}

static int by_ctime(const void *a, const void *b)
{
  const struct {
    char *id;
    double t;
  } *x = a, *y = b;
  return x->t < y->t ? -1 : x->t > y->t;
}

int ctr_list(char ***ids, size_t *n, err_t *err)
{
  *ids = NULL;
  *n = 0;
  _cleanup_free_ char *dir = engine_path("containers");
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT) {
      *ids = calloc(1, sizeof(char *));
      return *ids ? 0 : err_sys(err, "out of memory");
    }
    return err_sys(err, "cannot list `%s`", dir);
  }
  struct item {
    char *id;
    double t;
  } *items = NULL;
  size_t cnt = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strlen(e->d_name) != CTR_ID_LEN)
      continue;
    char rec[PATH_MAX];
    struct stat stb;
    snprintf(rec, sizeof rec, "%s/%s/container.json", dir, e->d_name);
    if (stat(rec, &stb) < 0)
      continue; /* half made or half removed */
    struct item *grown = realloc(items, (cnt + 1) * sizeof *items);
    if (!grown)
      break;
    items = grown;
    items[cnt].id = strdup(e->d_name);
    items[cnt].t = (double)stb.st_mtim.tv_sec + stb.st_mtim.tv_nsec / 1e9;
    cnt++;
  }
  if (cnt)
    qsort(items, cnt, sizeof *items, by_ctime);
  char **out = calloc(cnt + 1, sizeof *out);
  for (size_t i = 0; i < cnt; i++)
    out[i] = items[i].id;
  free(items);
  *ids = out;
  *n = cnt;
  return 0;
}

int ctr_open(const char *what, struct ctr *c, err_t *err)
{
  /* callers may ctr_close() after a failed open */
  memset(c, 0, sizeof *c);
  c->lock_fd = -1;
  if (!what || !*what)
    return err_make(err, EINVAL, "no container named");
  char **ids;
  size_t n;
  if (ctr_list(&ids, &n, err) < 0)
    return -1;
  const char *found = NULL;
  int matches = 0;
  /* a name or a full ID wins over ID prefixes */
  for (size_t i = 0; i < n && !found; i++) {
    if (!strcmp(ids[i], what)) {
      found = ids[i];
      break;
    }
    struct ctr t;
    if (ctr_open_id(ids[i], &t, NULL) == 0) {
      if (!strcmp(ctr_name(&t), what))
        found = ids[i];
      ctr_close(&t);
    }
  }
  if (!found) {
    size_t len = strlen(what);
    for (size_t i = 0; i < n; i++)
      if (!strncmp(ids[i], what, len)) {
        found = ids[i];
        matches++;
      }
    if (matches > 1) {
      cleanup_strvp(&ids);
      return err_make(err, EINVAL, "`%s` is the start of %d container IDs: give more of it", what,
                      matches);
    }
  }
  int r = found ? ctr_open_id(found, c, err)
                : err_make(err, ENOENT, "no such container: `%s` (see `isola ps -a`)", what);
  cleanup_strvp(&ids);
  return r;
}

int ctr_lock(struct ctr *c, err_t *err)
{
  if (c->lock_fd >= 0)
    return 0;
  _cleanup_free_ char *p = path_join(c->dir, "lock");
  c->lock_fd = file_lock(p, err);
  if (c->lock_fd < 0)
    return -1;
  /* the state may have moved while we waited */
  return ctr_reload_state(c, err);
}

void ctr_unlock(struct ctr *c)
{
  if (c->lock_fd >= 0)
    close(c->lock_fd);
  c->lock_fd = -1;
}

int ctr_names_lock(err_t *err)
{
  _cleanup_free_ char *dir = engine_path("containers");
  if (mkdir_p(dir, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *p = engine_path("containers.lock");
  return file_lock(p, err);
}

pid_t ctr_monitor_pid(const struct ctr *c)
{
  json_int_t pid = json_integer_value(json_object_get(c->state, "MonitorPid"));
  json_int_t start = json_integer_value(json_object_get(c->state, "MonitorStartTime"));
  if (pid <= 0)
    return 0;
  return proc_alive((pid_t)pid, (unsigned long long)start) ? (pid_t)pid : 0;
}

static const char *status_of(const struct ctr *c)
{
  const char *s = json_string_value(json_object_get(c->state, "Status"));
  return s ? s : "created";
}

/* isola-runtime's view of the container: "running", "stopped"... or NULL. */
static char *runtime_status(const char *id)
{
  const char *args[] = {"state", id, NULL};
  char *out = NULL;
  if (ctr_runtime(args, &out, NULL) != 0) {
    free(out);
    return NULL;
  }
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  const char *s = json_string_value(json_object_get(j, "status"));
  char *r = s ? strdup(s) : NULL;
  json_decref(j);
  return r;
}

const char *ctr_status(struct ctr *c)
{
  const char *s = status_of(c);
  if (!strcmp(s, "created") || !strcmp(s, "exited"))
    return s;
  if (ctr_monitor_pid(c))
    return s;
  /* the monitor was killed: the container (or the microVM) may still run
   * without it */
  if (json_is_true(json_object_get(json_object_get(json_object_get(c->rec, "HostConfig"), "VM"), "Enabled"))) {
    json_int_t vmm = json_integer_value(json_object_get(c->state, "Pid"));
    return vmm > 0 && proc_alive((pid_t)vmm, 0) ? "running" : "exited";
  }
  _cleanup_free_ char *rs = runtime_status(c->id);
  if (rs && (!strcmp(rs, "running") || !strcmp(rs, "paused")))
    return "running";
  return "exited";
}

bool ctr_is_running(struct ctr *c)
{
  const char *s = ctr_status(c);
  return !strcmp(s, "running") || !strcmp(s, "restarting") || !strcmp(s, "paused") ||
         !strcmp(s, "stopping");
}

int ctr_runtime(const char *const *args, char **out, err_t *err)
{
  _cleanup_free_ char *rt = engine_helper("isola-runtime");
  _cleanup_free_ char *rtroot = engine_run_path("runtime");
  if (out)
    *out = NULL;
  /* a memfd, not a pipe: a container started by the call would inherit a
   * pipe and hold it open */
  _cleanup_close_ int mfd = memfd_create("isola-runtime-out", MFD_CLOEXEC);
  if (mfd < 0)
    return err_sys(err, "memfd_create");
  size_t n = 0;
  while (args[n])
    n++;
  const char **argv = calloc(n + 4, sizeof *argv);
  if (!argv)
    return err_sys(err, "out of memory");
  argv[0] = rt;
  argv[1] = "--root";
  argv[2] = rtroot;
  memcpy(argv + 3, args, n * sizeof *argv);
  pid_t pid = proc_spawn(argv, -1, mfd, mfd, err);
  free(argv);
  if (pid < 0)
    return -1;
  int status = proc_wait(pid);
  if (out) {
    off_t len = lseek(mfd, 0, SEEK_END);
    char *buf = malloc((size_t)(len > 0 ? len : 0) + 1);
    if (buf) {
      ssize_t got = len > 0 ? pread(mfd, buf, (size_t)len, 0) : 0;
      buf[got > 0 ? got : 0] = 0;
      /* one line of message, without the program's name */
      size_t l = strlen(buf);
      while (l && buf[l - 1] == '\n')
        buf[--l] = 0;
    }
    *out = buf;
  }
  return status;
}

void engine_event(const char *type, const char *action, const char *id, json_t *attrs)
{
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_t *ev = json_pack("{ss ss ss s{ss so}}", "time", now, "Type", type, "Action", action,
                         "Actor", "ID", id, "Attributes", attrs ? attrs : json_object());
  char *line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
  json_decref(ev);
  if (!line)
    return;
  _cleanup_free_ char *p = engine_path("events.log");
  int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    size_t len = strlen(line);
    line[len] = '\n';
    if (write(fd, line, len + 1) < 0)
      log_debug("cannot append to `%s`: %s", p, strerror(errno));
    close(fd);
  }
  free(line);
}

void human_duration(double s, char *out, size_t n)
{
  if (s < 1)
    snprintf(out, n, "Less than a second");
  else if (s < 60)
    snprintf(out, n, "%d second%s", (int)s, (int)s == 1 ? "" : "s");
  else if (s < 3600)
    snprintf(out, n, "%d minute%s", (int)(s / 60), (int)(s / 60) == 1 ? "" : "s");
  else if (s < 48 * 3600)
    snprintf(out, n, "%d hour%s", (int)(s / 3600), (int)(s / 3600) == 1 ? "" : "s");
  else
    snprintf(out, n, "%d days", (int)(s / 86400));
}

int ctr_mount_rootfs(struct ctr *c, bool *mounted, err_t *err)
{
  _cleanup_free_ char *rootfs = path_join(c->dir, "rootfs");
  *mounted = false;
  if (proc_is_mountpoint(rootfs))
    return 0;
  _cleanup_free_ char *upper = path_join(c->dir, "upper");
  _cleanup_free_ char *work = path_join(c->dir, "work");
  struct store st;
  struct image img;
  struct digest md;
  const char *mds = json_string_value(json_object_get(c->rec, "ImageManifest"));
  if (store_open(&st, engine_root, err) < 0)
    return -1;
  int r = digest_parse(mds ? mds : "", &md, err);
  if (r == 0)
    r = image_load_manifest(&st, &md, &img, err);
  if (r == 0) {
    r = rootfs_mount(&st, &img, upper, work, rootfs, err);
    image_release(&img);
  }
  store_close(&st);
  if (r < 0)
    return err_context(err, "cannot mount the root of container %s", ctr_name(c));
  *mounted = true;
  return 0;
}

bool ctr_is_vm(const struct ctr *c)
{
  return json_is_true(json_object_get(json_object_get(json_object_get(c->rec, "HostConfig"), "VM"), "Enabled"));
}

char *engine_auth_file(const char *flag)
{
  if (flag)
    return strdup(flag);
  const char *env = getenv("REGISTRY_AUTH_FILE");
  if (env && *env)
    return strdup(env);
  char *p = NULL;
  if (asprintf(&p, "%s/auth.json", engine_root) < 0)
    return NULL;
  return p;
}

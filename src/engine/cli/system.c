/* isola system info, system df, system prune. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "config.h"
#include "engine/base/parse.h"
#include "engine/cli/commands.h"
#include "engine/cli/group.h"
#include "engine/container/ctr.h"
#include "engine/container/remove.h"
#include "engine/engine.h"
#include "image/image.h"

static uint64_t tree_bytes(const char *path)
{
  _cleanup_closedir_ DIR *d = opendir(path);
  uint64_t total = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    _cleanup_free_ char *p = path_join(path, e->d_name);
    struct stat st;
    if (lstat(p, &st) < 0)
      continue;
    if (S_ISDIR(st.st_mode))
      total += tree_bytes(p);
    else
      total += (uint64_t)st.st_blocks * 512;
  }
  return total;
}

struct counts {
  int running, stopped, total;
  uint64_t ctr_bytes;
};

static void count_containers(struct counts *k)
{
  memset(k, 0, sizeof *k);
  char **ids;
  size_t n;
  if (ctr_list(&ids, &n, NULL) < 0)
    return;
  for (size_t i = 0; i < n; i++) {
    struct ctr c;
    if (ctr_open_id(ids[i], &c, NULL) < 0)
      continue;
    k->total++;
    if (ctr_is_running(&c))
      k->running++;
    else
      k->stopped++;
    _cleanup_free_ char *upper = path_join(c.dir, "upper");
    k->ctr_bytes += tree_bytes(upper);
    ctr_close(&c);
  }
  cleanup_strvp(&ids);
}

static json_t *system_json(void)
{
  struct counts k;
  count_containers(&k);
  struct utsname u;
  uname(&u);
  struct statfs sf;
  const char *cg = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270 ? "v2"
                   : access("/sys/fs/cgroup/unified", F_OK) == 0                 ? "v1 (hybrid)"
                                                                                 : "v1";
  json_t *names = NULL;
  struct store st;
  size_t nimages = 0;
  if (store_open(&st, engine_root, NULL) == 0) {
    if (store_names(&st, &names, NULL) == 0)
      nimages = json_object_size(json_object_get(names, "names"));
    store_close(&st);
  }
  json_decref(names);
  _cleanup_free_ char *vols = engine_path("volumes");
  size_t nvol = 0;
  DIR *d = opendir(vols);
  struct dirent *e;
  while (d && (e = readdir(d)))
    nvol += e->d_name[0] != '.';
  if (d)
    closedir(d);
  _cleanup_free_ char *rt = engine_helper("isola-runtime");
  _cleanup_free_ char *vmm = engine_helper("isola-vmm");
  return json_pack("{s{ss ss ss ss ss sb} s{ss ss} s{si si si si si} s{ss ss ss}}", "host", "kernel", u.release, "arch",
                   u.machine, "os", "linux", "cgroupVersion", cg, "hostname", u.nodename, "kvm",
                   access("/dev/kvm", R_OK | W_OK) == 0, "store", "root", engine_root, "runRoot", engine_run_root(),
                   "containers", "total", k.total, "running", k.running, "stopped", k.stopped, "images", (int)nimages,
                   "volumes", (int)nvol, "version", "isola", ISOLA_VERSION, "runtime", rt, "vmm", vmm);
}

static int sys_info(int argc, char **argv)
{
  json_t *j = system_json();
  if (argc > 1 && (!strcmp(argv[1], "--format=json") || (argc > 2 && !strcmp(argv[2], "json")))) {
    char *s = json_dumps(j, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
  } else {
    const char *section;
    json_t *obj;
    json_object_foreach(j, section, obj)
    {
      printf("%s:\n", section);
      const char *k;
      json_t *v;
      json_object_foreach(obj, k, v)
      {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        printf("  %s: %s\n", k, json_is_string(v) ? json_string_value(v) : s);
        free(s);
      }
    }
  }
  json_decref(j);
  return 0;
}

static void human(uint64_t b, char *out, size_t n)
{
  static const char *const u[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)b;
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    i++;
  }
  snprintf(out, n, "%.1f%s", v, u[i]);
}

static int sys_df(int argc, char **argv)
{
  struct counts k;
  count_containers(&k);
  _cleanup_free_ char *images = engine_path("images");
  _cleanup_free_ char *vols = engine_path("volumes");
  uint64_t ib = tree_bytes(images), vb = tree_bytes(vols);
  char a[32], b[32], c[32];
  human(ib, a, sizeof a);
  human(k.ctr_bytes, b, sizeof b);
  human(vb, c, sizeof c);
  printf("%-16s %-8s %-8s %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE");
  printf("%-16s %-8s %-8s %s\n", "Images", "-", "-", a);
  printf("%-16s %-8d %-8d %s\n", "Containers", k.total, k.running, b);
  printf("%-16s %-8s %-8s %s\n", "Local Volumes", "-", "-", c);
  return 0;
}

static int sys_prune(int argc, char **argv)
{
  bool force = false, volumes = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
      force = true;
    else if (!strcmp(argv[i], "--volumes"))
      volumes = true;
    else {
      fprintf(stderr, "Usage: isola system prune [-f] [--volumes]\n");
      return EXIT_ENGINE;
    }
  }
  if (!force) {
    if (!isatty(STDIN_FILENO)) {
      log_error("system prune removes every stopped container%s: pass -f to confirm",
                volumes ? " and unused volume" : "");
      return EXIT_ENGINE;
    }
    fprintf(stderr, "Remove all stopped containers%s? [y/N] ", volumes ? " and unused volumes" : "");
    int ch = getchar();
    if (ch != 'y' && ch != 'Y')
      return 0;
  }
  char **ids;
  size_t n;
  int removed = 0;
  /* directories a killed `create` left without a container.json: creates
   * hold the names lock, so under it none is in progress */
  int lock = ctr_names_lock(NULL);
  _cleanup_free_ char *cdir = engine_path("containers");
  DIR *d = lock >= 0 ? opendir(cdir) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strlen(e->d_name) != CTR_ID_LEN)
      continue;
    _cleanup_free_ char *dir = path_join(cdir, e->d_name);
    _cleanup_free_ char *rec = path_join(dir, "container.json");
    if (access(rec, F_OK) < 0 && errno == ENOENT && remove_tree(dir) == 0)
      fprintf(stderr, "removed the half-made container directory %s\n", e->d_name);
  }
  if (d)
    closedir(d);
  if (lock >= 0)
    close(lock);
  if (ctr_list(&ids, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      struct ctr c;
      if (ctr_open_id(ids[i], &c, NULL) < 0)
        continue;
      if (ctr_lock(&c, NULL) == 0 && !ctr_is_running(&c) && !ctr_monitor_pid(&c) &&
          ctr_remove_files(&c, true, NULL) == 0) {
        printf("%s\n", c.id);
        engine_event("container", "destroy", c.id, json_pack("{ss}", "name", ctr_name(&c)));
        removed++;
      }
      ctr_close(&c);
    }
    cleanup_strvp(&ids);
  }
  if (volumes) {
    char *vargs[] = {"volume", "prune", "--all", NULL};
    cmd_volume(3, vargs);
  }
  struct store st;
  unsigned blobs = 0, layers = 0;
  if (store_open(&st, engine_root, NULL) == 0) {
    image_gc(&st, &blobs, &layers, NULL);
    store_close(&st);
  }
  fprintf(stderr, "removed %d containers, %u blobs, %u unpacked layers\n", removed, blobs, layers);
  return 0;
}

int cmd_system(int argc, char **argv)
{
  static const struct cli_sub subs[] = {
      {"info", NULL, sys_info}, {"df", NULL, sys_df}, {"prune", NULL, sys_prune}, {NULL, NULL, NULL}};
  return cli_group("system", "Usage: isola system info [--format json] | df | prune [-f] [--volumes]\n", subs, argc,
                   argv);
}

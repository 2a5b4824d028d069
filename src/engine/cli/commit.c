/* isola commit: a container's changes (the overlay's upper directory) as a
 * new layer over its image; none when it changed nothing, the commit then
 * being a config-only step of the image's history, as Docker makes it.
 * Overlay whiteouts (0/0 character devices) and opaque directories
 * (trusted.overlay.opaque) become the OCI forms (.wh.NAME, .wh..wh..opq);
 * the config is the container's: its command, environment, working
 * directory and user, plus --change instructions. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/cli/change.h"
#include "engine/cli/commands.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "image/image.h"

static int add_entry(struct archive *a, const char *name, const struct stat *st, const char *link, int fd,
                     err_t *err)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_copy_stat(e, st);
  if (link)
    archive_entry_set_symlink(e, link);
  if (!S_ISREG(st->st_mode))
    archive_entry_set_size(e, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK)
    return err_make(err, EIO, "cannot write `%s` to the layer: %s", name, archive_error_string(a));
  if (fd >= 0) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      if (archive_write_data(a, buf, (size_t)n) != n)
        return err_make(err, EIO, "cannot write `%s` to the layer", name);
    if (n < 0)
      return err_sys(err, "cannot read `%s`", name);
  }
  return 0;
}

static int walk(struct archive *a, int dirfd, const char *prefix, err_t *err)
{
  int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!d) {
    if (dup_fd >= 0)
      close(dup_fd);
    return err_sys(err, "cannot list `%s`", prefix);
  }
  struct dirent *e;
  int r = 0;
  while (r == 0 && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
    struct stat st;
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      r = err_sys(err, "cannot stat `%s`", name);
      break;
    }
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      /* an overlay whiteout: the file was removed */
      char wh[PATH_MAX + 16];
      snprintf(wh, sizeof wh, "%s%s.wh.%s", prefix, *prefix ? "/" : "", e->d_name);
      struct stat empty = st;
      empty.st_mode = S_IFREG | 0600;
      empty.st_size = 0;
      r = add_entry(a, wh, &empty, NULL, -1, err);
    } else if (S_ISDIR(st.st_mode)) {
      r = add_entry(a, name, &st, NULL, -1, err);
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (r == 0 && sub < 0)
        r = err_sys(err, "cannot open `%s`", name);
      if (r == 0) {
        char path[64], v[4] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", sub);
        if (getxattr(path, "trusted.overlay.opaque", v, sizeof v) > 0 && v[0] == 'y') {
          char opq[PATH_MAX + 16];
          snprintf(opq, sizeof opq, "%s/.wh..wh..opq", name);
          struct stat empty = st;
          empty.st_mode = S_IFREG | 0600;
          empty.st_size = 0;
          r = add_entry(a, opq, &empty, NULL, -1, err);
        }
        if (r == 0)
          r = walk(a, sub, name, err);
      }
      if (sub >= 0)
        close(sub);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(dirfd, e->d_name, target, sizeof target - 1);
      if (n < 0) {
        r = err_sys(err, "cannot read the link `%s`", name);
        break;
      }
      target[n] = 0;
      r = add_entry(a, name, &st, target, -1, err);
    } else if (S_ISREG(st.st_mode)) {
      int fd = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      r = fd < 0 ? err_sys(err, "cannot open `%s`", name) : add_entry(a, name, &st, NULL, fd, err);
      if (fd >= 0)
        close(fd);
    } else {
      r = add_entry(a, name, &st, NULL, -1, err); /* fifos and device nodes */
    }
  }
  closedir(d);
  return r;
}

/* An upper directory with nothing in it: the container changed no file. */
static int upper_is_empty(const char *upper, bool *empty, err_t *err)
{
  _cleanup_closedir_ DIR *d = opendir(upper);
  if (!d)
    return err_sys(err, "cannot open `%s`", upper);
  struct dirent *e;
  *empty = true;
  while (*empty && (e = readdir(d)))
    *empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
  return 0;
}

/* What Docker records as a commit's created_by: the container's command,
 * its words joined by spaces. */
static char *command_line(const json_t *cmd)
{
  size_t n = 1, i;
  json_t *a;
  json_array_foreach(cmd, i, a) n += strlen(json_string_value(a) ? json_string_value(a) : "") + 1;
  char *s = calloc(n, 1);
  if (!s)
    return NULL;
  json_array_foreach(cmd, i, a)
  {
    if (i)
      strcat(s, " ");
    strcat(s, json_string_value(a) ? json_string_value(a) : "");
  }
  return s;
}

static int layer_from_upper(const char *upper, const char *out, err_t *err)
{
  _cleanup_close_ int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return err_sys(err, "cannot open `%s`", upper);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, out) != ARCHIVE_OK) {
    int r = err_make(err, EIO, "cannot write `%s`: %s", out, archive_error_string(a));
    archive_write_free(a);
    return r;
  }
  int r = walk(a, fd, "", err);
  if (archive_write_close(a) != ARCHIVE_OK && r == 0)
    r = err_make(err, EIO, "cannot finish the layer `%s`", out);
  archive_write_free(a);
  return r;
}

int cmd_commit(int argc, char **argv)
{
  static const struct option opts[] = {{"message", required_argument, NULL, 'm'},
                                       {"author", required_argument, NULL, 'a'},
                                       {"change", required_argument, NULL, 'c'},
                                       {"pause", optional_argument, NULL, 'p'},
                                       {NULL, 0, NULL, 0}};
  const char *msg = NULL, *author = NULL;
  const char **changes = calloc((size_t)argc + 1, sizeof *changes);
  size_t nch = 0;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+m:a:c:p", opts, NULL)) != -1) {
    if (c == 'm')
      msg = optarg;
    else if (c == 'a')
      author = optarg;
    else if (c == 'c')
      changes[nch++] = optarg;
    else if (c != 'p') {
      free(changes);
      fprintf(stderr, "Usage: isola commit [-m MSG] [-a AUTHOR] [-c CHANGE]... CONTAINER IMAGE[:TAG]\n");
      return EXIT_ENGINE;
    }
  }
  if (argc - optind != 2) {
    free(changes);
    fprintf(stderr, "Usage: isola commit [-m MSG] [-a AUTHOR] [-c CHANGE]... CONTAINER IMAGE[:TAG]\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct ctr ct;
  if (ctr_open(argv[optind], &ct, &err) < 0) {
    free(changes);
    log_err(err);
    return EXIT_ENGINE;
  }
  /* the config the container runs with */
  json_t *cfg = bundle_image_config(&ct);
  json_t *rc = json_object_get(ct.rec, "Config");
  static const char *const keys[] = {"Cmd", "Entrypoint", "WorkingDir", "User", "StopSignal", NULL};
  for (const char *const *k = keys; *k; k++)
    if (json_object_get(rc, *k))
      json_object_set(cfg, *k, json_object_get(rc, *k));
  _cleanup_json_ json_t *img = bundle_image_config(&ct);
  char shortid[13];
  memcpy(shortid, ct.id, 12);
  shortid[12] = 0;
  json_t *env = bundle_env(ct.rec, img, shortid);
  /* HOSTNAME belongs to the container, not the image */
  for (size_t i = json_array_size(env); i-- > 0;)
    if (!strncmp(json_string_value(json_array_get(env, i)), "HOSTNAME=", 9))
      json_array_remove(env, i);
  json_object_set_new(cfg, "Env", env);
  int r = 0;
  for (size_t i = 0; r == 0 && i < nch; i++)
    r = change_apply(cfg, changes[i], &err);
  free(changes);
  _cleanup_free_ char *upper = path_join(ct.dir, "upper");
  _cleanup_free_ char *tarball = path_join(ct.dir, "commit.tar.gz");
  struct store st;
  struct image parent;
  struct digest md, id;
  bool have_parent = false, have_store = false, unchanged = false;
  if (r == 0)
    r = upper_is_empty(upper, &unchanged, &err);
  if (r == 0 && !unchanged)
    r = layer_from_upper(upper, tarball, &err);
  if (r == 0 && (r = store_open(&st, engine_root, &err)) == 0)
    have_store = true;
  if (r == 0)
    r = digest_parse(json_string_value(json_object_get(ct.rec, "ImageManifest")), &md, &err);
  if (r == 0 && (r = image_load_manifest(&st, &md, &parent, &err)) == 0)
    have_parent = true;
  _cleanup_json_ json_t *cmd = bundle_command(ct.rec, img);
  _cleanup_free_ char *created_by = command_line(cmd);
  struct image_step step = {.created_by = created_by, .comment = msg, .author = author};
  if (r == 0)
    r = image_commit(&st, &parent, unchanged ? NULL : tarball, cfg, &step, argv[optind + 1], &id, &err);
  if (have_parent)
    image_release(&parent);
  if (have_store)
    store_close(&st);
  unlink(tarball);
  json_decref(cfg);
  if (r < 0) {
    log_err(err);
    ctr_close(&ct);
    return EXIT_ENGINE;
  }
  engine_event("image", "commit", id.hex, json_pack("{ss ss}", "container", ctr_name(&ct), "name", argv[optind + 1]));
  printf("%s\n", id.hex);
  ctr_close(&ct);
  return 0;
}

/* isola pull, push, images, rmi, tag, import, save, load and image prune, mount, disk. */
#include <errno.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/cli/change.h"
#include "engine/cli/commands.h"
#include "engine/cli/group.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/rootfs.h"
#include "image/saveload.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

static int open_store(struct store *st, err_t *err)
{
  return store_open(st, engine_root, err);
}

/* --tls-verify[=BOOL], --platform, --authfile, -q: shared by pull and push.
 * 1 after --help (printed; the command exits 0), -1 on a bad flag. */
static int registry_flags(int argc, char **argv, const char *usage, struct pull_opts *o,
                          char **authfile, bool *quiet)
{
  static const struct option opts[] = {
      {"tls-verify", optional_argument, NULL, 't'}, {"platform", required_argument, NULL, 'p'},
      {"authfile", required_argument, NULL, 'a'},   {"quiet", no_argument, NULL, 'q'},
      {"json", no_argument, NULL, 'j'},             {"help", no_argument, NULL, 'h'},
      {"chunk-size", required_argument, NULL, 'c'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (!optarg || !strcmp(optarg, "true")) {
        o->tls_verify = true;
      } else if (!strcmp(optarg, "false")) {
        o->tls_verify = false;
      } else {
        log_error("--tls-verify takes true or false, not `%s`", optarg);
        return -1;
      }
      break;
    case 'p': o->platform = optarg; break;
    case 'a': *authfile = optarg; break;
    case 'q': *quiet = true; break;
    case 'j': o->json = true; break;
    case 'c': {
      char *end;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (*end || v == 0 || v > (1ULL << 30)) {
        log_error("--chunk-size takes a number of bytes from 1 to 1073741824, not `%s`", optarg);
        return -1;
      }
      o->chunk = v;
      break;
    }
    case 'h': printf("%s", usage); return 1;
    default: fprintf(stderr, "%s", usage); return -1;
    }
  }
  return 0;
}

int cmd_pull(int argc, char **argv)
{
  static const char usage[] =
      "Usage: isola pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [--authfile F] "
      "[-q | --json] IMAGE\n"
      "Progress goes to stderr when it is a terminal; the image ID (or, with --json, a JSON\n"
      "summary) to stdout.\n";
  struct pull_opts o = {.tls_verify = true, .jobs = 3};
  char *authflag = NULL;
  bool quiet = false;
  int flags = registry_flags(argc, argv, usage, &o, &authflag, &quiet);
  if (flags != 0)
    return flags < 0 ? EXIT_ENGINE : 0;
  if (optind + 1 != argc) {
    fprintf(stderr, "%s", usage);
    return EXIT_ENGINE;
  }
  if (!quiet && !o.json && isatty(STDERR_FILENO)) {
    o.progress = stderr;
    o.live = true;
  }
  _cleanup_free_ char *auth = engine_auth_file(authflag);
  _cleanup_free_ char *mirrors = path_join(engine_root, "registries.json");
  o.auth_file = auth;
  o.mirrors = mirrors;
  _cleanup_err_ err_t err = NULL;
  struct store st;
  struct pull_result res;
  int r = open_store(&st, &err);
  if (r == 0)
    r = image_pull(&st, argv[optind], &o, &res, &err);
  store_close(&st);
  if (r < 0)
    return fail(&err);
  if (o.json) {
    char id[DIGEST_STR_LEN + 1], md[DIGEST_STR_LEN + 1];
    digest_format(&res.id, id);
    digest_format(&res.manifest, md);
    json_t *j = json_pack("{ss ss ss sI sI sI sf}", "id", id + 7, "digest", md, "name", res.name,
                          "layers", (json_int_t)res.layers, "layers_fetched",
                          (json_int_t)res.layers_fetched, "bytes_fetched",
                          (json_int_t)res.bytes_fetched, "seconds", res.seconds);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(j);
  } else {
    printf("%s\n", res.id.hex);
  }
  pull_result_release(&res);
  return 0;
}

int cmd_push(int argc, char **argv)
{
  static const char usage[] = "Usage: isola push [--tls-verify=false] [--authfile F] "
                              "[--chunk-size BYTES] IMAGE [DEST]\n";
  struct pull_opts o = {.tls_verify = true, .progress = isatty(STDERR_FILENO) ? stderr : NULL};
  char *authflag = NULL;
  bool quiet = false;
  int flags = registry_flags(argc, argv, usage, &o, &authflag, &quiet);
  if (flags != 0)
    return flags < 0 ? EXIT_ENGINE : 0;
  if (optind >= argc || argc - optind > 2) {
    fprintf(stderr, "%s", usage);
    return EXIT_ENGINE;
  }
  if (quiet)
    o.progress = NULL;
  _cleanup_free_ char *auth = engine_auth_file(authflag);
  o.auth_file = auth;
  _cleanup_err_ err_t err = NULL;
  struct store st;
  int r = open_store(&st, &err);
  if (r == 0)
    r = image_push(&st, argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL, &o, &err);
  store_close(&st);
  return r < 0 ? fail(&err) : 0;
}

static void split_name(const char *name, char *repo, size_t rn, char *tag, size_t tn)
{
  const char *slash = strrchr(name, '/');
  const char *colon = strrchr(name, ':');
  if (colon && (!slash || colon > slash)) {
    snprintf(repo, rn, "%.*s", (int)(colon - name), name);
    snprintf(tag, tn, "%s", colon + 1);
  } else {
    snprintf(repo, rn, "%s", name);
    snprintf(tag, tn, "<none>");
  }
}

static void human_size(uint64_t b, char *out, size_t n)
{
  const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  snprintf(out, n, u ? "%.3g %s" : "%.0f %s", v, unit[u]);
}

int cmd_images(int argc, char **argv)
{
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                       {"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  bool quiet = false, json = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
    if (c == 'q') {
      quiet = true;
    } else if (c == 'f' && !strcmp(optarg, "json")) {
      json = true;
    } else {
      fprintf(stderr, "Usage: isola images [-q] [--format json]\n");
      return EXIT_ENGINE;
    }
  }
  _cleanup_err_ err_t err = NULL;
  struct store st;
  json_t *names = NULL, *out = json_array();
  if (open_store(&st, &err) < 0 || store_names(&st, &names, &err) < 0) {
    store_close(&st);
    json_decref(out);
    return fail(&err);
  }
  if (!quiet && !json)
    printf("%-48s %-16s %-14s %-22s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  const char *k;
  json_t *v;
  json_object_foreach(names, k, v)
  {
    struct image img;
    struct digest md;
    if (digest_parse(json_string_value(v), &md, NULL) < 0 ||
        image_load_manifest(&st, &md, &img, NULL) < 0) {
      log_warn("image `%s` is damaged in the store; `isola rmi %s` removes it", k, k);
      continue;
    }
    char repo[256], tag[128], size[32];
    split_name(k, repo, sizeof(repo), tag, sizeof(tag));
    human_size(img.size, size, sizeof(size));
    if (json)
      json_array_append_new(out, json_pack("{ss ss ss ss sI}", "Repository", repo, "Tag", tag,
                                           "Id", img.id.hex, "Created",
                                           img.config.created ? img.config.created : "",
                                           "Size", (json_int_t)img.size));
    else if (quiet)
      printf("%.12s\n", img.id.hex);
    else
      printf("%-48s %-16s %-14.12s %-22.19s %s\n", repo, tag, img.id.hex,
             img.config.created ? img.config.created : "", size);
    image_release(&img);
  }
  if (json) {
    char *s = json_dumps(out, JSON_INDENT(2));
    printf("%s\n", s ? s : "[]");
    free(s);
  }
  json_decref(out);
  json_decref(names);
  store_close(&st);
  return 0;
}

static int gc(struct store *st, bool report, err_t *err)
{
  unsigned blobs, layers;
  if (image_gc(st, &blobs, &layers, err) < 0)
    return -1;
  if (report)
    printf("removed %u blobs and %u unpacked layers\n", blobs, layers);
  return 0;
}

int cmd_rmi(int argc, char **argv)
{
  bool force = false;
  int c;
  optind = 1;
  while ((c = getopt(argc, argv, "f")) != -1) {
    if (c != 'f') {
      fprintf(stderr, "Usage: isola rmi [-f] IMAGE...\n");
      return EXIT_ENGINE;
    }
    force = true;
  }
  if (optind >= argc) {
    fprintf(stderr, "Usage: isola rmi [-f] IMAGE...\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct store st;
  if (open_store(&st, &err) < 0) {
    store_close(&st);
    return fail(&err);
  }
  int status = 0;
  for (int i = optind; i < argc; i++) {
    if (image_remove(&st, argv[i], force, &err) < 0) {
      log_err(err);
      err_free(&err);
      status = EXIT_ENGINE;
    } else {
      printf("Untagged: %s\n", argv[i]);
    }
  }
  if (gc(&st, false, &err) < 0) {
    log_err(err);
    status = EXIT_ENGINE;
  }
  store_close(&st);
  return status;
}

int cmd_tag(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "Usage: isola tag SOURCE TARGET\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct store st;
  int r = open_store(&st, &err);
  if (r == 0)
    r = image_tag(&st, argv[1], argv[2], &err);
  store_close(&st);
  return r < 0 ? fail(&err) : 0;
}

/* isola import [-c CHANGE]... [-m MESSAGE] TARBALL [NAME], as `docker import`. */
int cmd_import(int argc, char **argv)
{
  static const struct option opts[] = {{"change", required_argument, NULL, 'c'},
                                       {"message", required_argument, NULL, 'm'},
                                       {NULL, 0, NULL, 0}};
  static const char usage[] = "Usage: isola import [-c CHANGE]... [-m MESSAGE] TARBALL [NAME]\n";
  _cleanup_err_ err_t err = NULL;
  _cleanup_json_ json_t *exec = json_object();
  const char *msg = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+c:m:", opts, NULL)) != -1) {
    if (c == 'm') {
      msg = optarg;
    } else if (c == 'c') {
      if (change_apply(exec, optarg, &err) < 0)
        return fail(&err);
    } else {
      fputs(usage, stderr);
      return EXIT_ENGINE;
    }
  }
  if (argc - optind < 1 || argc - optind > 2) {
    fputs(usage, stderr);
    return EXIT_ENGINE;
  }
  struct store st;
  struct digest id;
  const char *name = argc - optind == 2 ? argv[optind + 1] : "localhost/imported:latest";
  int r = open_store(&st, &err);
  if (r == 0)
    r = image_import(&st, argv[optind], exec, msg, name, &id, &err);
  store_close(&st);
  if (r < 0)
    return fail(&err);
  printf("%s\n", id.hex);
  return 0;
}

/* isola image mount IMAGE: a read-only view of the image's root filesystem
 * (overlayfs over its layers), as `podman image mount`. */
static int image_mount_cmd(struct store *st, const char *what, bool mount_it, err_t *err)
{
  struct image img;
  if (image_load(st, what, &img, NULL, err) < 0)
    return -1;
  _cleanup_free_ char *mp = image_mount_point(st, &img.manifest_digest);
  int r = 0;
  if (!mp) {
    r = err_sys(err, "cannot build the mount point");
  } else if (mount_it) {
    if (mkdir(mp, 0755) < 0 && errno != EEXIST)
      r = err_sys(err, "cannot create `%s`", mp);
    if (r == 0 && rootfs_unmount(mp, NULL) == 0 &&
        (r = rootfs_mount(st, &img, NULL, NULL, mp, err)) < 0)
      rmdir(mp);
    if (r == 0)
      printf("%s\n", mp);
  } else {
    r = rootfs_unmount(mp, err);
    if (r == 0 && rmdir(mp) < 0 && errno != ENOENT)
      r = err_sys(err, "cannot remove `%s`", mp);
  }
  image_release(&img);
  return r;
}

static int image_disk_cmd(struct store *st, int argc, char **argv, err_t *err)
{
  enum disk_fs fs = DISK_EROFS;
  const char *what = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fs") && i + 1 < argc) {
      const char *v = argv[++i];
      if (!strcmp(v, "erofs")) {
        fs = DISK_EROFS;
      } else if (!strcmp(v, "ext4")) {
        fs = DISK_EXT4;
      } else {
        return err_make(err, EINVAL, "--fs takes erofs or ext4, not `%s`", v);
      }
    } else {
      what = argv[i];
    }
  }
  if (!what)
    return err_make(err, EINVAL, "usage: isola image disk [--fs erofs|ext4] IMAGE");
  struct image img;
  if (image_load(st, what, &img, NULL, err) < 0)
    return -1;
  int r = store_lock(st, false, err);
  char *path = r == 0 ? rootfs_disk(st, &img, fs, err) : NULL;
  if (r == 0)
    store_unlock(st);
  image_release(&img);
  if (!path)
    return -1;
  printf("%s\n", path);
  free(path);
  return 0;
}

static const char image_usage[] =
    "Usage: isola image prune\n"
    "       isola image mount IMAGE      mount its root filesystem read-only; prints where\n"
    "       isola image unmount IMAGE\n"
    "       isola image disk [--fs erofs|ext4] IMAGE\n"
    "                                    a read-only disk of it for microVMs; prints its path\n";

/* Runs one `image` subcommand on the open store; argv[0] is the subcommand. */
static int on_store(int (*fn)(struct store *st, int argc, char **argv, err_t *err), int argc, char **argv)
{
  _cleanup_err_ err_t err = NULL;
  struct store st;
  int r = open_store(&st, &err);
  if (r == 0)
    r = fn(&st, argc, argv, &err);
  store_close(&st);
  if (r > 0) {
    fprintf(stderr, "%s", image_usage);
    return EXIT_ENGINE;
  }
  return r < 0 ? fail(&err) : 0;
}

/* 1: wrong arguments (the caller prints the usage) */
static int prune_on(struct store *st, int argc, char **argv, err_t *err)
{
  return argc != 1 ? 1 : gc(st, true, err);
}

static int mount_on(struct store *st, int argc, char **argv, err_t *err)
{
  return argc != 2 ? 1 : image_mount_cmd(st, argv[1], !strcmp(argv[0], "mount"), err);
}

static int image_prune(int argc, char **argv)
{
  return on_store(prune_on, argc, argv);
}

static int image_mount(int argc, char **argv)
{
  return on_store(mount_on, argc, argv);
}

static int image_disk(int argc, char **argv)
{
  return on_store(image_disk_cmd, argc, argv);
}

int cmd_image(int argc, char **argv)
{
  static const struct cli_sub subs[] = {
      {"prune", NULL, image_prune}, {"mount", NULL, image_mount}, {"unmount", NULL, image_mount},
      {"disk", NULL, image_disk},   {NULL, NULL, NULL},
  };
  return cli_group("image", image_usage, subs, argc, argv);
}

/* save and load: one required path option (-o FILE / -i FILE), then the
 * store operation. */
static int path_option(int argc, char **argv, const char *shortopt, const char *longopt,
                       const char **value)
{
  const struct option opts[] = {{longopt, required_argument, NULL, shortopt[0]},
                                {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  *value = NULL;
  while ((c = getopt_long(argc, argv, shortopt, opts, NULL)) != -1) {
    if (c != shortopt[0])
      return -1;
    *value = optarg;
  }
  return *value ? 0 : -1;
}

int cmd_save(int argc, char **argv)
{
  const char *out;
  if (path_option(argc, argv, "o:", "output", &out) < 0 || optind >= argc) {
    fprintf(stderr, "Usage: isola save -o FILE IMAGE...\n"
                    "Writes an OCI image layout that is also a docker save archive.\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct store st;
  int r = open_store(&st, &err);
  if (r == 0)
    r = archive_save(&st, argv + optind, argc - optind, out, &err);
  store_close(&st);
  return r < 0 ? fail(&err) : 0;
}

int cmd_load(int argc, char **argv)
{
  const char *in;
  if (path_option(argc, argv, "i:", "input", &in) < 0 || optind != argc) {
    fprintf(stderr, "Usage: isola load -i FILE|DIR\n"
                    "Reads an OCI image layout or a docker save archive (tar or directory).\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct store st;
  int r = open_store(&st, &err);
  if (r == 0)
    r = archive_load(&st, in, stdout, &err);
  store_close(&st);
  return r < 0 ? fail(&err) : 0;
}

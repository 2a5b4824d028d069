/* isola create, run, start: flags over cli/runopts.c and lifecycle/lifecycle.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/base/parse.h"
#include "engine/cli/commands.h"
#include "engine/cli/runopts.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/container/remove.h"
#include "engine/container/systemd.h"
#include "engine/engine.h"
#include "engine/lifecycle/lifecycle.h"
#include "engine/monitor/attach.h"
#include "image/image.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

/* The image for a new container: from the store, pulled when missing. */
static int find_image(struct store *st, const char *ref, const char *pull, bool tls_verify, struct image *img,
                      char **name, err_t *err)
{
  if (strcmp(pull, "always") && image_load(st, ref, img, name, NULL) == 0)
    return 0;
  if (!strcmp(pull, "never"))
    return err_make(err, ENOENT, "no image `%s` here, and --pull=never: run `isola pull %s` first", ref, ref);
  _cleanup_free_ char *auth = engine_auth_file(NULL);
  _cleanup_free_ char *mirrors = path_join(engine_root, "registries.json");
  struct pull_opts o = {.tls_verify = tls_verify, .jobs = 3, .auth_file = auth, .mirrors = mirrors};
  struct pull_result res;
  if (isatty(STDERR_FILENO)) {
    o.progress = stderr;
    o.live = true;
  }
  if (image_pull(st, ref, &o, &res, err) < 0)
    return err_context(err, "image `%s` is not here and pulling it failed", ref);
  pull_result_release(&res);
  return image_load(st, ref, img, name, err);
}

/* Make the container's record and directories; *c is open on success. */
static int create_container(json_t *rec, const struct run_flags *f, const char *pull, bool tls_verify, struct ctr *c,
                            err_t *err)
{
  struct store st;
  if (store_open(&st, engine_root, err) < 0)
    return -1;
  struct image img;
  _cleanup_free_ char *imgname = NULL;
  int r = find_image(&st, f->image, pull, tls_verify, &img, &imgname, err);
  store_close(&st);
  if (r < 0)
    return -1;
  char id[DIGEST_STR_LEN + 1], md[DIGEST_STR_LEN + 1];
  digest_format(&img.id, id);
  digest_format(&img.manifest_digest, md);
  json_t *icfg = img.config.exec ? json_incref(img.config.exec) : json_object();
  image_release(&img);
  json_t *cmd = bundle_command(rec, icfg);

  char cid[CTR_ID_LEN + 1];
  ctr_new_id(cid);
  char name[128];
  int lock = ctr_names_lock(err);
  if (lock < 0) {
    json_decref(icfg);
    json_decref(cmd);
    return -1;
  }
  if (f->name) {
    struct ctr other;
    if (ctr_open(f->name, &other, NULL) == 0 && !strcmp(ctr_name(&other), f->name)) {
      char oid[13];
      memcpy(oid, other.id, 12);
      oid[12] = 0;
      ctr_close(&other);
      close(lock);
      json_decref(icfg);
      json_decref(cmd);
      return err_make(err, EEXIST,
                      "the name `%s` is taken by container %s: remove it (`isola rm %s`) or pick another name",
                      f->name, oid, f->name);
    }
    snprintf(name, sizeof name, "%s", f->name);
  } else {
    static const char *const adj[] = {"brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen",
                                      "lucid", "merry", "nifty", "proud", "quiet", "sharp", "tender", "vivid"};
    static const char *const noun[] = {"albatross", "badger", "crane", "dolphin", "egret", "falcon", "gecko",
                                       "heron", "ibis", "jackal", "koala", "lynx", "marten", "newt", "otter",
                                       "puffin"};
    for (int tries = 0;; tries++) {
      char hex[4] = {cid[3 * tries % 60], cid[3 * tries % 60 + 1], cid[3 * tries % 60 + 2], 0};
      unsigned v = (unsigned)strtoul(hex, NULL, 16);
      if (tries < 8)
        snprintf(name, sizeof name, "%s_%s", adj[v & 15], noun[(v >> 4) & 15]);
      else
        snprintf(name, sizeof name, "%s_%s_%.6s", adj[v & 15], noun[(v >> 4) & 15], cid);
      struct ctr other;
      if (ctr_open(name, &other, NULL) < 0)
        break;
      ctr_close(&other);
    }
  }
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_object_set_new(rec, "Id", json_string(cid));
  json_object_set_new(rec, "Name", json_string(name));
  json_object_set_new(rec, "Created", json_string(now));
  json_object_set_new(rec, "Image", json_string(imgname ? imgname : f->image));
  json_object_set_new(rec, "ImageID", json_string(id));
  json_object_set_new(rec, "ImageManifest", json_string(md));
  json_object_set_new(json_object_get(rec, "Config"), "Image", json_string(f->image));
  const char *path0 = json_string_value(json_array_get(cmd, 0));
  json_object_set_new(rec, "Path", json_string(path0 ? path0 : ""));
  json_t *args = json_array();
  for (size_t i = 1; i < json_array_size(cmd); i++)
    json_array_append(args, json_array_get(cmd, i));
  json_object_set_new(rec, "Args", args);
  systemd_record(rec, cmd);
  json_decref(cmd);

  if (netctr_allocate(rec, cid, name, err) < 0) {
    close(lock);
    json_decref(icfg);
    return -1;
  }
  char rel[CTR_ID_LEN + 16];
  snprintf(rel, sizeof rel, "containers/%s", cid);
  _cleanup_free_ char *dir = engine_path(rel);
  json_t *state = json_pack("{ss si si si}", "Status", "created", "Pid", 0, "ExitCode", 0, "RestartCount", 0);
  r = mkdir_p(dir, 0700, err);
  _cleanup_free_ char *p1 = path_join(dir, "image-config.json");
  _cleanup_free_ char *p2 = path_join(dir, "state.json");
  _cleanup_free_ char *p3 = path_join(dir, "container.json");
  /* the overlay's root takes the mode of `upper`: 0755, as images have */
  static const char *const subdirs[] = {"upper", "work", "rootfs", NULL};
  for (const char *const *s = subdirs; r == 0 && *s; s++) {
    _cleanup_free_ char *d = path_join(dir, *s);
    r = mkdir_p(d, 0700, err);
    if (r == 0 && chmod(d, s == subdirs ? 0755 : 0700) < 0)
      r = err_sys(err, "chmod `%s`", d);
  }
  if (r == 0)
    r = json_write_path(p1, icfg, JSON_INDENT(2), false, err);
  if (r == 0)
    r = json_write_path(p2, state, JSON_INDENT(2), false, err);
  /* container.json last: a directory without it is not a container yet */
  if (r == 0)
    r = json_write_path(p3, rec, JSON_INDENT(2), false, err);
  json_decref(state);
  json_decref(icfg);
  if (r < 0) {
    remove_tree(dir);
    netctr_release(rec, cid);
    close(lock);
    return -1;
  }
  close(lock);
  if (ctr_open_id(cid, c, err) < 0)
    return -1;
  engine_event("container", "create", cid, json_pack("{ss ss}", "name", name, "image", f->image));
  return 0;
}

static int attach_to(struct ctr *c, const struct attach_opts *o, int *code, err_t *err)
{
  int fd = attach_connect(c->rundir, "attach.sock", err);
  if (fd < 0)
    return -1;
  int r = attach_session(fd, o, code, err);
  close(fd);
  if (r == 0 && *code < 0) {
    /* the monitor went away without a word: the state has the status */
    ctr_reload_state(c, NULL);
    *code = (int)json_integer_value(json_object_get(c->state, "ExitCode"));
  }
  return r;
}

static void run_usage(FILE *out, bool run)
{
  fprintf(out,
          "Usage: isola %s [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
          "\n"
          "%s"
          "  -i, --interactive         keep stdin open        -t, --tty    allocate a terminal\n"
          "      --rm                  remove the container when it exits\n"
          "      --name NAME           -e, --env K=V        --env-file FILE\n"
          "  -w, --workdir DIR         -u, --user USER[:GROUP]   --entrypoint CMD\n"
          "  -v, --volume SRC:DST[:ro] --mount type=bind|volume|tmpfs,... --tmpfs DST[:OPTS]\n"
          "  -m, --memory SIZE         --cpus N   --pids-limit N   --read-only\n"
          "      --cap-add CAP         --cap-drop CAP   --security-opt seccomp=unconfined|FILE\n"
          "      --restart no|on-failure[:N]|always|unless-stopped\n"
          "      --health-cmd CMD      --health-interval D --health-timeout D --health-retries N\n"
          "      --health-start-period D   --health-on-failure none|kill|restart|stop\n"
          "      --init                isola-init as PID 1 (reaps zombies, forwards signals)\n"
          "      --hostname NAME       --network none|host|private|container:NAME\n"
          "      --systemd[=true|false|always], --init-system   run an init system as PID 1\n"
          "      --log-opt max-size=SIZE|max-file=N   --stop-signal SIG --stop-timeout S\n"
          "      --sysctl KEY=VALUE    a namespaced sysctl (net.* needs the container's own network)\n"
          "      --pull missing|always|never   --tls-verify=false\n"
          "      --vm [--vm-cpus N] [--vm-memory SIZE] [--kernel PATH]   run it in a microVM\n",
          run ? "run" : "create",
          run ? "Run a command in a new container (or microVM with --vm).\n\n"
                "  -d, --detach              run in the background and print the ID\n"
              : "Create a container without starting it; prints its ID.\n\n");
}

/* --pull and --tls-verify are engine flags mixed with the run flags: take
 * them out before runopts sees the rest. */
static int strip_pull_flags(int *argc, char **argv, const char **pull, bool *tls_verify, err_t *err)
{
  int w = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') {
      /* the image: the rest is the command */
      for (; i < *argc; i++)
        argv[w++] = argv[i];
      break;
    }
    if (!strncmp(a, "--pull=", 7) || (!strcmp(a, "--pull") && i + 1 < *argc)) {
      *pull = a[6] == '=' ? a + 7 : argv[++i];
      if (strcmp(*pull, "missing") && strcmp(*pull, "always") && strcmp(*pull, "never"))
        return err_make(err, EINVAL, "--pull %s: use missing, always or never", *pull);
    } else if (!strcmp(a, "--tls-verify=false")) {
      *tls_verify = false;
    } else if (!strcmp(a, "--tls-verify") || !strcmp(a, "--tls-verify=true")) {
      *tls_verify = true;
    } else {
      argv[w++] = argv[i];
      /* flags with a separate value: keep the value with them */
      static const char *const valued[] = {"--name", "-e", "--env", "--env-file", "-w", "--workdir", "-u",
                                           "--user", "--entrypoint", "-v", "--volume", "--mount", "--tmpfs",
                                           "-m", "--memory", "--cpus", "--pids-limit", "--cap-add",
                                           "--cap-drop", "--security-opt", "--restart", "--health-cmd",
                                           "--health-interval", "--health-timeout", "--health-retries",
                                           "--health-start-period", "--health-on-failure", "--hostname", "-h",
                                           "--vm-cpus", "--vm-memory", "--kernel", "--network", "--net",
                                           "--log-opt", "--stop-signal", "--stop-timeout", "-p", "--publish",
                                           "-l", "--label", NULL};
      for (const char *const *v = valued; *v; v++)
        if (!strcmp(a, *v) && i + 1 < *argc) {
          argv[w++] = argv[++i];
          break;
        }
    }
  }
  argv[w] = NULL;
  *argc = w;
  return 0;
}

static int create_or_run(int argc, char **argv, bool run)
{
  _cleanup_err_ err_t err = NULL;
  const char *pull = "missing";
  bool tls = true;
  for (int i = 1; i < argc && argv[i][0] == '-'; i++)
    if (!strcmp(argv[i], "--help")) {
      run_usage(stdout, run);
      return 0;
    }
  if (strip_pull_flags(&argc, argv, &pull, &tls, &err) < 0)
    return fail(&err);
  json_t *rec = NULL;
  struct run_flags f;
  if (runopts_parse(argc, argv, run, &rec, &f, &err) < 0)
    return fail(&err);
  struct ctr c;
  int r = create_container(rec, &f, pull, tls, &c, &err);
  json_decref(rec);
  if (r < 0)
    return fail(&err);
  if (!run) {
    printf("%s\n", c.id);
    ctr_close(&c);
    return 0;
  }
  int code;
  bool attached = !f.detach;
  if (lifecycle_start(&c, attached, &code, &err) < 0) {
    log_err(err);
    err_free(&err);
    /* a monitor removes a --rm container that could not start; one that
     * failed before its monitor ran is ours to remove */
    if (f.rm && ctr_reload_state(&c, NULL) == 0 && !ctr_monitor_pid(&c))
      ctr_remove_files(&c, true, NULL);
    ctr_close(&c);
    return code ? code : EXIT_ENGINE;
  }
  ctr_unlock(&c);
  if (!attached) {
    printf("%s\n", c.id);
    ctr_close(&c);
    return 0;
  }
  json_t *cfg = json_object_get(c.rec, "Config");
  struct attach_opts o = {.stdin_open = json_is_true(json_object_get(cfg, "OpenStdin")),
                          .tty = json_is_true(json_object_get(cfg, "Tty")), .sig_proxy = f.sig_proxy};
  r = attach_to(&c, &o, &code, &err);
  ctr_close(&c);
  if (r < 0)
    return fail(&err);
  return r == 1 ? 0 : code;
}

int cmd_run(int argc, char **argv)
{
  return create_or_run(argc, argv, true);
}

int cmd_create(int argc, char **argv)
{
  return create_or_run(argc, argv, false);
}

int cmd_start(int argc, char **argv)
{
  static const struct option opts[] = {{"attach", no_argument, NULL, 'a'}, {"interactive", no_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
  bool attach = false, interactive = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+ai", opts, NULL)) != -1) {
    if (c == 'a')
      attach = true;
    else if (c == 'i')
      interactive = true;
    else {
      fprintf(stderr, "Usage: isola start [-a] [-i] CONTAINER...\n");
      return EXIT_ENGINE;
    }
  }
  if (optind >= argc || (attach && argc - optind > 1)) {
    fprintf(stderr, "Usage: isola start [-a] [-i] CONTAINER... (-a takes one)\n");
    return EXIT_ENGINE;
  }
  int status = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_err_ err_t err = NULL;
    struct ctr ct;
    int code = EXIT_ENGINE;
    if (ctr_open(argv[i], &ct, &err) < 0 || lifecycle_start(&ct, attach, &code, &err) < 0) {
      log_err(err);
      status = attach && code ? code : EXIT_ENGINE;
      ctr_close(&ct);
      continue;
    }
    ctr_unlock(&ct);
    if (attach) {
      json_t *cfg = json_object_get(ct.rec, "Config");
      struct attach_opts o = {.stdin_open = interactive && json_is_true(json_object_get(cfg, "OpenStdin")),
                              .tty = json_is_true(json_object_get(cfg, "Tty")), .sig_proxy = true};
      int r = attach_to(&ct, &o, &code, &err);
      status = r < 0 ? fail(&err) : code;
    } else {
      printf("%s\n", argv[i]);
    }
    ctr_close(&ct);
  }
  return status;
}

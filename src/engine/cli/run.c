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
#include "engine/container/ctr.h"
#include "engine/container/remove.h"
#include "engine/engine.h"
#include "engine/lifecycle/lifecycle.h"
#include "engine/monitor/attach.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
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
  struct create_opts co = {.name = f.name, .image = f.image, .pull = pull, .tls_verify = tls};
  int r = lifecycle_create(rec, &co, &c, &err);
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

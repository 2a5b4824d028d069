/* isola exec and attach. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/log.h"
#include "engine/cli/commands.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "engine/monitor/attach.h"
#include "engine/vm/vm.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

int cmd_exec(int argc, char **argv)
{
  static const struct option opts[] = {
      {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
      {"detach", no_argument, NULL, 'd'},      {"env", required_argument, NULL, 'e'},
      {"user", required_argument, NULL, 'u'},  {"workdir", required_argument, NULL, 'w'},
      {"privileged", no_argument, NULL, 'P'},  {NULL, 0, NULL, 0}};
  bool interactive = false, tty = false, detach = false, privileged = false;
  const char *user = NULL, *cwd = NULL;
  const char **envs = calloc((size_t)argc + 1, sizeof *envs);
  size_t nenv = 0;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+itde:u:w:", opts, NULL)) != -1) {
    switch (c) {
    case 'i': interactive = true; break;
    case 't': tty = true; break;
    case 'd': detach = true; break;
    case 'e': envs[nenv++] = optarg; break;
    case 'u': user = optarg; break;
    case 'w': cwd = optarg; break;
    case 'P': privileged = true; break;
    default:
      fprintf(stderr, "Usage: isola exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]\n");
      free(envs);
      return EXIT_ENGINE;
    }
  }
  if (argc - optind < 2) {
    fprintf(stderr, "Usage: isola exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]\n");
    free(envs);
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct ctr ct;
  if (ctr_open(argv[optind], &ct, &err) < 0) {
    free(envs);
    return fail(&err);
  }
  if (!ctr_is_running(&ct)) {
    ctr_close(&ct);
    free(envs);
    err_make(&err, EINVAL, "container %s is not running: `isola start` it first", argv[optind]);
    return fail(&err);
  }
  if (json_is_true(json_object_get(json_object_get(json_object_get(ct.rec, "HostConfig"), "VM"), "Enabled"))) {
    int code = vm_exec(&ct, argc - optind - 1, argv + optind + 1, envs, nenv, cwd, interactive, tty, &err);
    ctr_close(&ct);
    free(envs);
    return code < 0 ? fail(&err) : code;
  }
  char ugid[64] = "";
  json_t *gids = NULL;
  if (user) {
    _cleanup_free_ char *rootfs = path_join(ct.dir, "rootfs");
    _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    uid_t uid;
    gid_t gid;
    _cleanup_free_ char *home = NULL;
    if (rootfd < 0 || bundle_resolve_user(rootfd, user, &uid, &gid, &gids, &home, &err) < 0) {
      if (!err)
        err_sys(&err, "cannot open the root of %s", argv[optind]);
      ctr_close(&ct);
      free(envs);
      return fail(&err);
    }
    snprintf(ugid, sizeof ugid, "%u:%u", uid, gid);
  }
  _cleanup_free_ char *rt = engine_helper("isola-runtime");
  _cleanup_free_ char *rtroot = engine_run_path("runtime");
  const char **args = calloc((size_t)argc * 2 + 32 + json_array_size(gids) * 2, sizeof *args);
  size_t n = 0;
  args[n++] = rt;
  args[n++] = "--root";
  args[n++] = rtroot;
  args[n++] = "exec";
  if (tty)
    args[n++] = "--tty";
  if (detach)
    args[n++] = "--detach";
  for (size_t i = 0; i < nenv; i++) {
    args[n++] = "--env";
    args[n++] = envs[i];
  }
  if (cwd) {
    args[n++] = "--cwd";
    args[n++] = cwd;
  }
  if (*ugid) {
    args[n++] = "--user";
    args[n++] = ugid;
  }
  char gbuf[64][16];
  for (size_t i = 0; i < json_array_size(gids) && i < 64; i++) {
    snprintf(gbuf[i], sizeof gbuf[i], "%lld", (long long)json_integer_value(json_array_get(gids, i)));
    args[n++] = "--additional-gids";
    args[n++] = gbuf[i];
  }
  if (privileged) {
    static const char *const all[] = {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE",
                                      "CAP_SYS_RAWIO", "CAP_SYS_TIME", "CAP_NET_RAW", "CAP_MKNOD", NULL};
    for (const char *const *a = all; *a; a++) {
      args[n++] = "--cap";
      args[n++] = *a;
    }
  }
  args[n++] = ct.id;
  for (int i = optind + 1; i < argc; i++)
    args[n++] = argv[i];
  args[n] = NULL;
  if (!interactive) {
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      close(null);
    }
  }
  fflush(NULL);
  execv(rt, (char *const *)args);
  err_sys(&err, "cannot run `%s`", rt);
  free(args);
  free(envs);
  json_decref(gids);
  ctr_close(&ct);
  return fail(&err);
}

int cmd_attach(int argc, char **argv)
{
  static const struct option opts[] = {{"no-stdin", no_argument, NULL, 'n'},
                                       {"sig-proxy", optional_argument, NULL, 's'},
                                       {NULL, 0, NULL, 0}};
  bool no_stdin = false, sig_proxy = true;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    if (c == 'n')
      no_stdin = true;
    else if (c == 's')
      sig_proxy = !optarg || !strcmp(optarg, "true");
    else {
      fprintf(stderr, "Usage: isola attach [--no-stdin] [--sig-proxy=false] CONTAINER\n");
      return EXIT_ENGINE;
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "Usage: isola attach [--no-stdin] [--sig-proxy=false] CONTAINER\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct ctr ct;
  if (ctr_open(argv[optind], &ct, &err) < 0)
    return fail(&err);
  if (!ctr_monitor_pid(&ct)) {
    ctr_close(&ct);
    err_make(&err, EINVAL, "container %s is not running", argv[optind]);
    return fail(&err);
  }
  json_t *cfg = json_object_get(ct.rec, "Config");
  struct attach_opts o = {.stdin_open = !no_stdin && json_is_true(json_object_get(cfg, "OpenStdin")),
                          .tty = json_is_true(json_object_get(cfg, "Tty")), .sig_proxy = sig_proxy};
  int fd = attach_connect(ct.rundir, "attach.sock", &err);
  if (fd < 0) {
    ctr_close(&ct);
    return fail(&err);
  }
  int code = 0;
  int r = attach_session(fd, &o, &code, &err);
  close(fd);
  if (r == 0 && code < 0) {
    ctr_reload_state(&ct, NULL);
    code = (int)json_integer_value(json_object_get(ct.state, "ExitCode"));
  }
  ctr_close(&ct);
  if (r < 0)
    return fail(&err);
  return r == 1 ? 0 : code;
}

/* create, start, run, kill, delete, state: the OCI lifecycle
 * (runtime.md "Operations"). */
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <errno.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/globals.h"
#include "runtime/container/container.h"
#include "runtime/container/ttyproxy.h"

static int parse_create(int argc, char **argv, struct create_opts *o, bool *detach, bool run)
{
  static const struct option opts[] = {
      {"bundle", required_argument, NULL, 'b'},
      {"pid-file", required_argument, NULL, 'p'},
      {"console-socket", required_argument, NULL, 'c'},
      {"no-pivot", no_argument, NULL, 'n'},
      {"no-new-keyring", no_argument, NULL, 'k'},
      {"preserve-fds", required_argument, NULL, 'f'},
      {"detach", no_argument, NULL, 'd'},
      {"keep", no_argument, NULL, 'K'},
      {NULL, 0, NULL, 0},
  };
  o->root = runtime_globals.root;
  o->bundle = ".";
  int c;
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "b:d", opts, NULL)) != -1) {
    switch (c) {
    case 'b': o->bundle = optarg; break;
    case 'p': o->pid_file = optarg; break;
    case 'c': o->console_socket = optarg; break;
    case 'n': o->no_pivot = true; break;
    case 'k':
    case 'K': break;
    case 'f': o->preserve_fds = atoi(optarg); break;
    case 'd':
      if (!run) {
        log_error("--detach is an option of `run`, not `create`");
        return -1;
      }
      *detach = true;
      break;
    default: return -1;
    }
  }
  o->id = cli_one_id(argc, argv, optind, argv[0]);
  if (!o->id)
    return -1;
  if (runtime_globals.systemd_cgroup) {
    /* runc's "slice:prefix:name" cgroups go through systemd's D-Bus API. */
    if (access("/run/systemd/system", F_OK) != 0)
      log_error("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); "
                "drop the flag (engines: --cgroup-manager=cgroupfs) to use cgroupfs");
    else
      log_error("--systemd-cgroup: isola-runtime does not manage cgroups through systemd yet; "
                "drop the flag (engines: --cgroup-manager=cgroupfs) to use cgroupfs");
    return -1;
  }
  /* Socket activation through the runtime, as runc does it: the fds that
   * systemd passed us (sd_listen_fds(3): LISTEN_PID is our pid) go to the
   * container, which is told so by LISTEN_FDS and its own LISTEN_PID. */
  const char *fds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
  if (fds && lpid && atoi(lpid) == getpid() && atoi(fds) > 0) {
    o->listen_fds = atoi(fds);
    if (o->preserve_fds < o->listen_fds)
      o->preserve_fds = o->listen_fds;
  }
  return 0;
}

int cmd_create(int argc, char **argv)
{
  struct create_opts o = {0};
  bool detach = false;
  err_t err = NULL;
  pid_t pid;
  if (parse_create(argc, argv, &o, &detach, false) < 0)
    return 1;
  if (container_create(&o, &pid, &err) < 0)
    return cli_fail(&err);
  return 0;
}

int cmd_start(int argc, char **argv)
{
  err_t err = NULL;
  const char *id = cli_one_id(argc, argv, 1, "start");
  if (!id)
    return 1;
  return container_start(runtime_globals.root, id, &err) < 0 ? cli_fail(&err) : 0;
}

int cmd_run(int argc, char **argv)
{
  struct create_opts o = {0};
  bool detach = false;
  err_t err = NULL;
  pid_t pid;
  if (parse_create(argc, argv, &o, &detach, true) < 0)
    return 1;
  o.subreaper = !detach;
  /* In the foreground without --console-socket we keep the terminal (if
   * process.terminal asks for one) and copy it to our stdio, as runc does. */
  _cleanup_close_ int tty_ours = -1, tty_theirs = -1;
  if (!detach && !o.console_socket) {
    if (tty_socketpair(&tty_ours, &tty_theirs, &err) < 0)
      return cli_fail(&err);
    o.console_fd = tty_theirs;
  }
  if (container_create(&o, &pid, &err) < 0)
    return cli_fail(&err);
  int master = -1;
  if (tty_ours >= 0 && (master = tty_receive(tty_ours, &err)) < 0) {
    if (err_errnum(err) != ENOMSG) {
      cli_fail(&err);
      container_delete(o.root, o.id, true, NULL);
      return 1;
    }
    err_free(&err);
  }
  if (container_start(o.root, o.id, &err) < 0) {
    cli_fail(&err);
    if (master >= 0)
      close(master);
    container_delete(o.root, o.id, true, NULL);
    return 1;
  }
  if (detach)
    return 0;
  /* Foreground: the container's status is ours, and it is gone after. */
  int status = master >= 0 ? tty_proxy_wait(master, pid) : wait_forwarding(pid);
  if (container_delete(o.root, o.id, true, &err) < 0)
    cli_fail(&err);
  return status;
}

int cmd_state(int argc, char **argv)
{
  err_t err = NULL;
  json_t *st = NULL;
  const char *id = cli_one_id(argc, argv, 1, "state");
  if (!id)
    return 1;
  if (container_state(runtime_globals.root, id, &st, &err) < 0)
    return cli_fail(&err);
  char *s = json_dumps(st, JSON_INDENT(2));
  printf("%s\n", s);
  free(s);
  json_decref(st);
  return 0;
}

int cmd_kill(int argc, char **argv)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
  bool all = false;
  int c;
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "+a", opts, NULL)) != -1) {
    if (c != 'a')
      return 1;
    all = true;
  }
  if (argc - optind < 1 || argc - optind > 2) {
    log_error("usage: kill [--all] ID [SIGNAL]");
    return 1;
  }
  const char *id = argv[optind];
  int sig = SIGTERM;
  /* Signal 0 sends nothing but checks that the process exists: engines
   * probe liveness with `kill ID 0`, as kill(2) and runc allow. */
  if (argc - optind == 2 && !strcmp(argv[optind + 1], "0"))
    sig = 0;
  else if (argc - optind == 2 && (sig = cli_parse_signal(argv[optind + 1])) < 0) {
    log_error("unknown signal `%s` (use a name such as KILL or SIGTERM, or a number)",
              argv[optind + 1]);
    return 1;
  }
  err_t err = NULL;
  return container_kill(runtime_globals.root, id, sig, all, &err) < 0 ? cli_fail(&err) : 0;
}

int cmd_delete(int argc, char **argv)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  bool force = false;
  int c;
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "f", opts, NULL)) != -1) {
    if (c != 'f')
      return 1;
    force = true;
  }
  const char *id = cli_one_id(argc, argv, optind, "delete");
  if (!id)
    return 1;
  err_t err = NULL;
  return container_delete(runtime_globals.root, id, force, &err) < 0 ? cli_fail(&err) : 0;
}

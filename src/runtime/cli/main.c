/* isola-runtime: the OCI runtime's front door.  It parses the global options
 * and hands the rest to the command's file, as runc and crun do. */
#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"
#include "config.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/globals.h"

#define PROG "isola-runtime"

struct runtime_globals runtime_globals = {.root = "/run/isola/runtime"};

static const struct cli_cmd commands[] = {
    {"create", "create a container from a bundle", cmd_create},
    {"start", "start the user process of a created container", cmd_start},
    {"run", "create and start a container", cmd_run},
    {"state", "print the state of a container as JSON", cmd_state},
    {"kill", "send a signal to a container's processes", cmd_kill},
    {"delete", "delete a container and release its resources", cmd_delete},
    {"exec", "run another process in a container", cmd_exec},
    {"ps", "list the processes of a container", cmd_ps},
    {"list", "list containers", cmd_list},
    {"pause", "freeze all processes of a container", cmd_pause},
    {"resume", "thaw a paused container", cmd_resume},
    {"update", "change a container's resource limits", cmd_update},
    {"events", "show container events and statistics", cmd_events},
    {"spec", "write a default config.json", cmd_spec},
    {"features", "print the features this runtime supports, as JSON", cmd_features},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
  fprintf(out,
          "Usage: " PROG " [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "An OCI runtime (runtime-spec " ISOLA_OCI_SPEC_VERSION ") with the runc/crun command line.\n"
          "\n"
          "Global options:\n"
          "  --root DIR            state directory (default /run/isola/runtime; rootless:\n"
          "                        $XDG_RUNTIME_DIR/isola/runtime)\n"
          "  --log FILE            write log records to FILE instead of stderr\n"
          "  --log-format FORMAT   text (default) or json\n"
          "  --debug               log debug records\n"
          "  --systemd-cgroup      use systemd for cgroups\n"
          "  --cgroup-manager MGR  cgroupfs (the default) or systemd (as --systemd-cgroup)\n"
          "  -v, --version         print the version\n"
          "  -h, --help            print this help\n"
          "\n");
  cli_print_commands(out, commands);
}

/* `CMD -h` / `CMD --help` among the options before the first argument, as
 * runc takes them (after it, they are the container program's). */
static bool wants_command_help(int argc, char **argv)
{
  for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-help"))
      return true;
  return false;
}

static int command_help(const struct cli_cmd *c)
{
  printf("Usage: " PROG " [GLOBAL OPTIONS] %s [OPTIONS] [ARGS]\n\n%s.\n"
         "See docs/runtime.md for the options (runc's).\n", c->name, c->summary);
  return 0;
}

extern char **environ;

/* Commands whose processes enter a container's namespaces. */
static bool enters_container(const char *cmd)
{
  return cmd && (!strcmp(cmd, "create") || !strcmp(cmd, "run") || !strcmp(cmd, "exec"));
}

int main(int argc, char **argv)
{
  enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD_CGROUP, OPT_ROOTLESS,
         OPT_CGROUP_MANAGER };
  static const struct option opts[] = {
      {"root", required_argument, NULL, OPT_ROOT},
      {"log", required_argument, NULL, OPT_LOG},
      {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
      {"debug", no_argument, NULL, OPT_DEBUG},
      {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP},
      {"rootless", required_argument, NULL, OPT_ROOTLESS},
      {"cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  enum log_format fmt = LOG_FORMAT_TEXT;
  bool root_given = false;
  err_t err = NULL;
  int c;
  /* "+": stop at the command name; its options belong to the command. */
  while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
    switch (c) {
    case OPT_ROOT:
      runtime_globals.root = optarg;
      root_given = true;
      break;
    case OPT_LOG: runtime_globals.log_path = optarg; break;
    case OPT_LOG_FORMAT:
      if (log_parse_format(optarg, &fmt, &err) < 0) {
        err_print(PROG, err);
        err_free(&err);
        return 1;
      }
      break;
    case OPT_DEBUG: runtime_globals.debug = true; break;
    case OPT_SYSTEMD_CGROUP: runtime_globals.systemd_cgroup = true; break;
    /* crun's spelling, which some tools pass: `systemd` is --systemd-cgroup
     * (refused with its reason where a container is made). */
    case OPT_CGROUP_MANAGER:
      if (!strcmp(optarg, "systemd")) {
        runtime_globals.systemd_cgroup = true;
      } else if (strcmp(optarg, "cgroupfs")) {
        fprintf(stderr, PROG ": --cgroup-manager `%s`: expected cgroupfs or systemd\n", optarg);
        return 1;
      }
      break;
    case OPT_ROOTLESS: break; /* runc's hint; we detect rootless mode ourselves */
    case 'v': { /* runc's lines, which tools parse: version, commit, spec, libseccomp */
      const struct scmp_version *sv = seccomp_version();
      char extra[96];
      snprintf(extra, sizeof(extra), "spec: " ISOLA_OCI_SPEC_VERSION "\nlibseccomp: %u.%u.%u\n",
               sv ? sv->major : 0, sv ? sv->minor : 0, sv ? sv->micro : 0);
      cli_print_version(stdout, PROG, extra);
      return 0;
    }
    case 'h': usage(stdout); return 0;
    default: fprintf(stderr, "Run `" PROG " --help` for the options.\n"); return 1;
    }
  }
  if (log_open(PROG, runtime_globals.log_path, fmt, &err) < 0) {
    err_print(PROG, err);
    err_free(&err);
    return 1;
  }
  if (runtime_globals.debug)
    log_set_level(LOG_LEVEL_DEBUG);
  /* Rootless without --root: state under the user's runtime directory, as
   * runc keeps it in $XDG_RUNTIME_DIR/runc. */
  static char user_root[4096];
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (!root_given && geteuid() != 0 && xdg && xdg[0] == '/') {
    snprintf(user_root, sizeof(user_root), "%s/isola/runtime", xdg);
    runtime_globals.root = user_root;
  }
  if (optind < argc && enters_container(argv[optind]) && sealed_exe_reexec(argv, environ, &err) < 0) {
    log_err(err);
    err_free(&err);
    return 1;
  }
  const struct cli_cmd *cmd = optind < argc ? cli_find(commands, argv[optind]) : NULL;
  if (cmd && wants_command_help(argc - optind, argv + optind)) {
    log_close();
    return command_help(cmd);
  }
  int status = cli_dispatch(PROG, commands, argc - optind, argv + optind, 1);
  log_close();
  return status;
}

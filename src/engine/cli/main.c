/* isola: the engine's front door.  Each subcommand is a short process over
 * the image, runtime, VMM and network libraries. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "common/cli.h"
#include "common/log.h"
#include "engine/cli/commands.h"
#include "engine/engine.h"
#include "net/dhcp.h"

#define PROG "isola"

static const struct cli_cmd commands[] = {
    {"run", "run a command in a new container or microVM (--vm)", cmd_run},
    {"create", "create a container", cmd_create},
    {"start", "start a created container", cmd_start},
    {"stop", "stop a running container", cmd_stop},
    {"kill", "send a signal to a container", cmd_kill},
    {"restart", "restart a container", cmd_restart},
    {"rm", "remove containers", cmd_rm},
    {"ps", "list containers", cmd_ps},
    {"logs", "show a container's output", cmd_logs},
    {"exec", "run a command in a running container", cmd_exec},
    {"attach", "attach to a container's console", cmd_attach},
    {"inspect", "show details of a container, image, volume or network", cmd_inspect},
    {"stats", "show resource usage", cmd_stats},
    {"top", "show a container's processes", cmd_top},
    {"wait", "wait for a container to exit", cmd_wait},
    {"cp", "copy files between a container and the host", cmd_cp},
    {"commit", "make an image from a container", cmd_commit},
    {"pull", "pull an image from a registry", cmd_pull},
    {"push", "push an image to a registry", cmd_push},
    {"images", "list images", cmd_images},
    {"rmi", "remove images", cmd_rmi},
    {"tag", "name an image", cmd_tag},
    {"save", "write images to an archive", cmd_save},
    {"load", "read images from an archive", cmd_load},
    {"import", "make an image from a root filesystem tarball", cmd_import},
    {"login", "store registry credentials", cmd_login},
    {"logout", "remove registry credentials", cmd_logout},
    {"image", "manage images (prune)", cmd_image},
    {"volume", "manage volumes", cmd_volume},
    {"network", "manage virtual networks", cmd_network},
    {"port", "list a container's published ports", cmd_port},
    {"system", "show and clean engine state", cmd_system},
    {"events", "show engine events", cmd_events},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
  fputs("Usage: " PROG " [--root DIR] [--log-level LEVEL] COMMAND [OPTIONS] [ARGS]\n"
        "\n"
        "Run containers and KVM microVMs from OCI images, daemonless.\n"
        "\n"
        "Global options:\n"
        "  --root DIR          state directory (default /var/lib/isola)\n"
        "  --log-level LEVEL   error, warn (default), info or debug\n"
        "  -v, --version       print the version\n"
        "  -h, --help          print this help\n"
        "\n",
        out);
  cli_print_commands(out, commands);
}

int main(int argc, char **argv)
{
  if (getenv("ISOLA_DHCP_HOOK") && argc == 2) {
    /* busybox udhcpc calling back with a lease (src/net/dhcp.h) */
    err_t err = NULL;
    if (dhcp_hook(argv[1], &err) < 0) {
      err_print(PROG, err);
      err_free(&err);
      return 1;
    }
    return 0;
  }
  static const struct option opts[] = {
      {"root", required_argument, NULL, 'r'},
      {"log-level", required_argument, NULL, 'l'},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  err_t err = NULL;
  enum log_level level;
  int c;
  log_open(PROG, NULL, LOG_FORMAT_TEXT, NULL);
  while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
    switch (c) {
    case 'r': engine_root = optarg; break;
    case 'l':
      if (log_parse_level(optarg, &level, &err) < 0) {
        log_err(err);
        err_free(&err);
        return EXIT_ENGINE;
      }
      log_set_level(level);
      break;
    case 'v': cli_print_version(stdout, PROG, NULL); return 0;
    case 'h': usage(stdout); return 0;
    default: fputs("Run `" PROG " --help` for the options.\n", stderr); return EXIT_ENGINE;
    }
  }
  log_debug("state root %s", engine_root);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int status = cli_dispatch(PROG, commands, argc - optind, argv + optind, EXIT_ENGINE);
  curl_global_cleanup();
  return status;
}

/* isola-vmm: one KVM microVM per process.  This file only parses the
 * command line; the monitor itself lives beside it. */
#include <getopt.h>
#include <stdio.h>

#include "common/cli.h"
#include "common/log.h"

#define PROG "isola-vmm"

static void usage(FILE *out)
{
  fputs("Usage: " PROG " --kernel PATH [--initrd PATH] [--cmdline STR] [--cpus N]\n"
        "                 [--memory MiB] [--boot-timer]\n"
        "\n"
        "A KVM microVM monitor: one guest per process, its serial console on\n"
        "stdin/stdout.\n"
        "\n"
        "Status: booting guests is not implemented yet (see README.md).\n"
        "\n"
        "Options:\n"
        "  --kernel PATH    guest kernel: bzImage, ELF vmlinux or PVH ELF\n"
        "  --initrd PATH    initial ramdisk\n"
        "  --cmdline STR    kernel command line\n"
        "  --cpus N         number of vCPUs (default 1)\n"
        "  --memory MiB     guest memory in MiB (default 128)\n"
        "  --boot-timer     log the time from start to the guest's boot-done write\n"
        "  -v, --version    print the version\n"
        "  -h, --help       print this help\n",
        out);
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"kernel", required_argument, NULL, 'k'}, {"initrd", required_argument, NULL, 'i'},
      {"cmdline", required_argument, NULL, 'c'}, {"cpus", required_argument, NULL, 'n'},
      {"memory", required_argument, NULL, 'm'}, {"boot-timer", no_argument, NULL, 'b'},
      {"version", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  log_open(PROG, NULL, LOG_FORMAT_TEXT, NULL);
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    switch (c) {
    case 'v': cli_print_version(stdout, PROG, NULL); return 0;
    case 'h': usage(stdout); return 0;
    case 'k':
    case 'i':
    case 'c':
    case 'n':
    case 'm':
    case 'b': break;
    default: fputs("Run `" PROG " --help` for the options.\n", stderr); return 1;
    }
  }
  if (optind < argc) {
    log_error("unexpected argument `%s`; run `" PROG " --help` for the options", argv[optind]);
    return 1;
  }
  log_error("booting a guest is not implemented yet (see the status table in README.md)");
  return 1;
}

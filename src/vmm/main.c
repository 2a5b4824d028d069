/* isola-vmm: one KVM microVM per process.  This file parses the command
 * line; the monitor lives beside it (vm.c, vcpu.c, boot/, devices/). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/cli.h"
#include "common/log.h"
#include "vmm/boot/boot.h"
#include "vmm/console.h"
#include "vmm/layout.h"
#include "vmm/options.h"
#include "vmm/vm.h"

#define PROG "isola-vmm"
#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=1"

static void usage(FILE *out)
{
  fputs("Usage: " PROG " --kernel PATH [--initrd PATH] [--cmdline STR] [--cpus N]\n"
        "                 [--memory MiB] [--hugepages] [--boot-timer] [--log-level L]\n"
        "                 [--disk PATH[,ro][,id=NAME]]... [--net tap=NAME[,mac=MAC]]...\n"
        "                 [--vsock cid=N,uds=PATH] [--virtio-console PATH] [--rng]\n"
        "\n"
        "A KVM microVM monitor: one guest per process, its serial console (COM1)\n"
        "on stdin/stdout.  Exits 0 when the guest powers off or resets, 1 on a\n"
        "guest failure (triple fault, KVM internal error: registers and code are\n"
        "printed), 2 on bad arguments, 128+N when stopped by signal N.\n"
        "SIGUSR1 sends Ctrl-Alt-Del to the guest's keyboard controller.\n"
        "\n"
        "Options:\n"
        "  --kernel PATH    guest kernel: bzImage, ELF vmlinux or PVH ELF\n"
        "  --initrd PATH    initial ramdisk, placed at the top of low memory\n"
        "  --cmdline STR    kernel command line (default \"" DEFAULT_CMDLINE "\")\n"
        "  --cpus N         number of vCPUs, 1 to 254 (default 1)\n"
        "  --memory MiB     guest memory in MiB, 16 to 1048576 (default 128)\n"
        "  --hugepages      back guest memory with 2 MiB hugepages\n"
        "  --boot-timer     log the time from start until the guest writes 123 to\n"
        "                   0xd0000000 (Firecracker's boot-timer device)\n"
        "  --disk PATH[,ro][,id=NAME][,io=uring|sync]\n"
        "                   a virtio-blk disk on a raw image file or block device\n"
        "                   (vda, vdb... in order); ro: read-only; id: its serial\n"
        "                   (20 bytes); io: io_uring (default) or synchronous I/O\n"
        "  --net tap=NAME[,mac=MAC]\n"
        "                   a virtio-net NIC on host tap NAME (attached if it\n"
        "                   exists, else created for the VM's lifetime)\n"
        "  --vsock cid=N,uds=PATH\n"
        "                   virtio-vsock as guest CID N; host programs connect to\n"
        "                   PATH and send \"CONNECT <port>\\n\"; guest connections to\n"
        "                   host port P reach PATH_P (Firecracker's scheme)\n"
        "  --virtio-console PATH\n"
        "                   a virtio-console port (hvc0 in Linux) on a Unix socket\n"
        "                   isola-vmm listens on at PATH, one client at a time\n"
        "  --rng            virtio-rng fed by the host's getrandom()\n"
        "  --log-level L    error, warn, info (default) or debug, on stderr\n"
        "  --dump-acpi DIR  write the guest's ACPI tables to DIR/<sig>.dat (for\n"
        "                   `iasl -d`) and exit without running the guest\n"
        "  -v, --version    print the version\n"
        "  -h, --help       print this help\n",
        out);
}

static int parse_num(const char *opt, const char *s, long min, long max, long *out)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) {
    log_error("--%s must be a whole number from %ld to %ld, not `%s`", opt, min, max, s);
    return -1;
  }
  *out = v;
  return 0;
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"kernel", required_argument, NULL, 'k'}, {"initrd", required_argument, NULL, 'i'},
      {"cmdline", required_argument, NULL, 'c'}, {"cpus", required_argument, NULL, 'n'},
      {"memory", required_argument, NULL, 'm'}, {"hugepages", no_argument, NULL, 'H'},
      {"boot-timer", no_argument, NULL, 'b'},    {"log-level", required_argument, NULL, 'l'},
      {"dump-acpi", required_argument, NULL, 'A'},
      {"disk", required_argument, NULL, 'D'},    {"net", required_argument, NULL, 'N'},
      {"vsock", required_argument, NULL, 'V'},   {"rng", no_argument, NULL, 'R'},
      {"virtio-console", required_argument, NULL, 'C'},
      {"version", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct vm_config cfg = {
      .cmdline = DEFAULT_CMDLINE,
      .ncpus = 1,
      .memory = 128 * MiB,
      .start_wall_us = clock_us(CLOCK_MONOTONIC),
      .start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID),
      .console_in = 0,
      .console_out = 1,
  };
  long n;
  int c;
  log_open(PROG, NULL, LOG_FORMAT_TEXT, NULL);
  log_set_level(LOG_LEVEL_INFO);
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    switch (c) {
    case 'v': cli_print_version(stdout, PROG, NULL); return 0;
    case 'h': usage(stdout); return 0;
    case 'k': cfg.kernel = optarg; break;
    case 'i': cfg.initrd = optarg; break;
    case 'c': cfg.cmdline = optarg; break;
    case 'n':
      if (parse_num("cpus", optarg, 1, VMM_MAX_CPUS, &n) < 0)
        return 2;
      cfg.ncpus = (int)n;
      break;
    case 'm':
      if (parse_num("memory", optarg, (long)(VMM_MIN_MEMORY / MiB), (long)(VMM_MAX_MEMORY / MiB),
                    &n) < 0)
        return 2;
      cfg.memory = (uint64_t)n * MiB;
      break;
    case 'H': cfg.hugepages = true; break;
    case 'b': cfg.boot_timer = true; break;
    case 'A': cfg.dump_acpi = optarg; break;
    case 'D':
    case 'N':
      if (cfg.ndisks + cfg.nnets == VM_MAX_VIRTIO) {
        log_error("too many --disk and --net: a VM has at most %d virtio devices", VM_MAX_VIRTIO);
        return 2;
      }
      /* fallthrough */
    case 'V': {
      _cleanup_err_ err_t e = NULL;
      int r = c == 'D'   ? vmm_parse_disk(optarg, &cfg.disks[cfg.ndisks++], &e)
              : c == 'N' ? vmm_parse_net(optarg, &cfg.nets[cfg.nnets++], &e)
                         : vmm_parse_vsock(optarg, &cfg.vsock, &e);
      if (r < 0) {
        log_err(e);
        return 2;
      }
      break;
    }
    case 'R': cfg.rng = true; break;
    case 'C': cfg.virtio_console = optarg; break;
    case 'l': {
      enum log_level level;
      _cleanup_err_ err_t e = NULL;
      if (log_parse_level(optarg, &level, &e) < 0) {
        log_err(e);
        return 2;
      }
      log_set_level(level);
      break;
    }
    default: fputs("Run `" PROG " --help` for the options.\n", stderr); return 2;
    }
  }
  if (optind < argc) {
    log_error("unexpected argument `%s`; run `" PROG " --help` for the options", argv[optind]);
    return 2;
  }
  if (!cfg.kernel) {
    log_error("no guest kernel: pass --kernel PATH (a bzImage, ELF vmlinux or PVH ELF)");
    return 2;
  }

  _cleanup_err_ err_t err = NULL;
  struct vm vm;
  int status = 1;
  if (cfg.dump_acpi) {
    if (vm_create(&vm, &cfg, &err) == 0 && acpi_dump(&vm.mem, vm.rsdp, cfg.dump_acpi, &err) == 0)
      status = 0;
  } else if (vm_create(&vm, &cfg, &err) == 0 && console_raw(cfg.console_in, &err) == 0) {
    status = vm_run(&vm, &err);
    console_restore();
    if (status < 0)
      status = 1;
  }
  if (err)
    log_err(err);
  vm_destroy(&vm);
  return status;
}

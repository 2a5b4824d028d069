/* isola-vmm: one KVM microVM per process.  This file parses the command
 * line; the monitor lives beside it (vm.c, vcpu.c, boot/, devices/). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/cli.h"
#include "common/json.h"
#include "common/log.h"
#include "vmm/api/api.h"
#include "vmm/boot/boot.h"
#include "vmm/console.h"
#include "vmm/jail.h"
#include "vmm/layout.h"
#include "vmm/metrics.h"
#include "vmm/sandbox.h"
#include "vmm/options.h"
#include "vmm/snapshot/devices.h"
#include "vmm/snapshot/snapshot.h"
#include "vmm/vm.h"

#define PROG "isola-vmm"
#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=1"

static void usage(FILE *out)
{
  fputs("Usage: " PROG " --kernel PATH [--initrd PATH] [--cmdline STR] [--cpus N]\n"
        "                 [--memory MiB] [--hugepages] [--boot-timer] [--log-level L]\n"
        "                 [--disk PATH[,ro][,id=NAME]]... [--net tap=NAME[,mac=MAC]]...\n"
        "                 [--vsock cid=N,uds=PATH] [--virtio-console PATH] [--rng]\n"
        "       " PROG " --api-sock PATH | --config-file FILE | --restore STATE --mem-file MEM\n"
        "       " PROG " --jail DIR [--jail-uid N --jail-gid N] ... (paths inside DIR)\n"
        "       " PROG " rebase-snap --base-file MEM --diff-file DIFF\n"
        "                 (merge a Diff snapshot's memory onto its base, in place)\n"
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
        "  --api-sock PATH  serve Firecracker's REST API on the Unix socket PATH;\n"
        "                   without --kernel the VM is configured through it and\n"
        "                   starts on PUT /actions InstanceStart or /snapshot/load\n"
        "  --config-file F  the VM from Firecracker's JSON config file\n"
        "  --no-api         no API socket (Firecracker's flag; the default here)\n"
        "  --restore STATE --mem-file MEM [--restore-paused]\n"
        "                   resume a snapshot (PUT /snapshot/create) instead of\n"
        "                   booting; the memory file is mapped copy-on-write\n"
        "  --track-dirty-pages  log the pages the guest writes, for Diff snapshots\n"
        "                   (machine-config's track_dirty_pages)\n"
        "  --metrics-path P Firecracker-style JSON metrics, a line every 60 s, on\n"
        "                   FlushMetrics and at exit, to file or FIFO P\n"
        "  --describe-metrics  print every metric and what it counts\n"
        "  --no-seccomp     no per-thread seccomp filters (vCPU, device loop, API\n"
        "                   threads): for debugging only\n"
        "  --jail DIR       run jailed, as Firecracker's jailer does: a cgroup\n"
        "                   isola/vmm-ID, a mount namespace rooted at DIR with\n"
        "                   only /dev/kvm and /dev/net/tun, then the uid/gid below;\n"
        "                   every path given is then inside DIR\n"
        "  --jail-id ID     the jail's name (default: the PID)\n"
        "  --jail-uid N, --jail-gid N  the user and group to run as (default 0)\n"
        "  --jail-netns F   join the network namespace F (/run/netns/NAME) first\n"
        "  --jail-cgroup FILE=VALUE  a cgroup limit, e.g. memory.limit_in_bytes=512M\n"
        "                   or cpu.max=\"50000 100000\" (repeatable)\n"
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

/* `rebase-snap --base-file MEM --diff-file DIFF`, as Firecracker's tool. */
static int rebase_main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"base-file", required_argument, NULL, 'b'}, {"diff-file", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
  const char *base = NULL, *diff = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'b')
      base = optarg;
    else if (c == 'd')
      diff = optarg;
    else
      return 2;
  }
  if (!base || !diff || optind < argc) {
    log_error("usage: " PROG " rebase-snap --base-file MEM --diff-file DIFF");
    return 2;
  }
  _cleanup_err_ err_t err = NULL;
  if (snapshot_rebase(base, diff, &err) < 0) {
    log_err(err);
    return 1;
  }
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
      {"api-sock", required_argument, NULL, 'S'},  {"config-file", required_argument, NULL, 'F'},
      {"no-api", no_argument, NULL, 'X'},          {"restore", required_argument, NULL, 'r'},
      {"mem-file", required_argument, NULL, 'M'},  {"restore-paused", no_argument, NULL, 'P'},
      {"metrics-path", required_argument, NULL, 'T'}, {"describe-metrics", no_argument, NULL, 'd'},
      {"no-seccomp", no_argument, NULL, 'Z'},      {"track-dirty-pages", no_argument, NULL, 'W'},
      {"jail", required_argument, NULL, 'J'},      {"jail-id", required_argument, NULL, 'I'},
      {"jail-uid", required_argument, NULL, 'U'},  {"jail-gid", required_argument, NULL, 'G'},
      {"jail-netns", required_argument, NULL, 'E'}, {"jail-cgroup", required_argument, NULL, 'Q'},
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
  const char *api_sock = NULL, *config_file = NULL, *metrics_path = NULL;
  struct jail_config jail = {0};
  bool no_api = false;
  log_open(PROG, NULL, LOG_FORMAT_TEXT, NULL);
  log_set_level(LOG_LEVEL_INFO);
  if (argc > 1 && !strcmp(argv[1], "rebase-snap"))
    return rebase_main(argc - 1, argv + 1);
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
    case 'S': api_sock = optarg; break;
    case 'F': config_file = optarg; break;
    case 'X': no_api = true; break;
    case 'r': cfg.restore_state = optarg; break;
    case 'M': cfg.restore_mem = optarg; break;
    case 'P': cfg.restore_paused = true; break;
    case 'W': cfg.track_dirty = true; break;
    case 'd': metrics_describe(stdout); return 0;
    case 'Z': sandbox_enabled = false; break;
    case 'T': metrics_path = optarg; break;
    case 'J': jail.dir = optarg; break;
    case 'I': jail.id = optarg; break;
    case 'E': jail.netns = optarg; break;
    case 'U':
    case 'G':
      if (parse_num(c == 'U' ? "jail-uid" : "jail-gid", optarg, 0, 0x7fffffff, &n) < 0)
        return 2;
      *(c == 'U' ? &jail.uid : &jail.gid) = (uid_t)n;
      break;
    case 'Q': {
      _cleanup_err_ err_t e = NULL;
      if (jail_add_cgroup(&jail, optarg, &e) < 0) {
        log_err(e);
        return 2;
      }
      break;
    }
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
  _cleanup_err_ err_t err = NULL;
  if (!jail.dir && (jail.id || jail.netns || jail.uid || jail.gid || jail.ncgroup)) {
    log_error("--jail-id, --jail-uid, --jail-gid, --jail-netns and --jail-cgroup go with --jail DIR");
    return 2;
  }
  if (no_api && api_sock) {
    log_error("--no-api and --api-sock contradict each other");
    return 2;
  }
  if (!cfg.restore_state != !cfg.restore_mem) {
    log_error("--restore STATE goes with --mem-file MEM (the snapshot's two files)");
    return 2;
  }
  if (cfg.restore_state &&
      (devices_any(&cfg) || cfg.kernel)) {
    log_error("--restore brings the snapshot's kernel and devices; drop --kernel, --disk, --net, "
              "--vsock, --rng and --virtio-console");
    return 2;
  }
  /* the arguments are sound: from here on, paths are inside the jail */
  if (jail.dir) {
    int status;
    int r = jail_enter(&jail, &status, &err);
    if (r < 0) {
      log_err(err);
      return 1;
    }
    if (r == 1)
      return status; /* the supervising parent: the jailed VMM has ended */
  }
  if (metrics_path && metrics_open(metrics_path, &err) < 0) {
    log_err(err);
    return 2;
  }
  _cleanup_json_ json_t *snap_devices = NULL;
  if (cfg.restore_state) {
    if (snapshot_read_config(cfg.restore_state, &cfg, &snap_devices, &err) < 0) {
      log_err(err);
      return 2;
    }
  }
  struct api api;
  api_init(&api, &cfg);
  if (config_file && api_apply_config_file(&api, config_file, &err) < 0) {
    log_err(err);
    api_stop(&api);
    return 2;
  }
  bool configured = cfg.kernel || cfg.restore_state;
  /* the API's thread must not take the signals the VM loop handles: they
   * are blocked before it starts, and read here or by vm_run() */
  sigset_t handled;
  vm_handled_signals(&handled);
  if (api_sock) {
    pthread_sigmask(SIG_BLOCK, &handled, NULL);
    if (api_serve(&api, api_sock, configured, &err) < 0) {
      log_err(err);
      api_stop(&api);
      return 2;
    }
    while (!configured && api_wait_start(&api, 100) == 0) {
      struct timespec zero = {0, 0};
      int sig = sigtimedwait(&handled, NULL, &zero);
      if (sig > 0 && sig != SIGUSR1) {
        api_stop(&api);
        return 128 + sig;
      }
    }
  } else if (!configured) {
    log_error("no guest kernel: pass --kernel PATH (a bzImage, ELF vmlinux or PVH ELF), --config-file, "
              "--restore or --api-sock");
    api_stop(&api);
    return 2;
  }

  struct vm vm;
  int status = 1;
  if (cfg.dump_acpi) {
    if (vm_create(&vm, &cfg, &err) == 0 && acpi_dump(&vm.mem, vm.rsdp, cfg.dump_acpi, &err) == 0)
      status = 0;
  } else if (vm_create(&vm, &cfg, &err) == 0 && console_raw(cfg.console_in, &err) == 0) {
    api_set_vm(&api, &vm, NULL);
    status = vm_run(&vm, &err);
    api_set_vm(&api, NULL, "the microVM stopped");
    console_restore();
    if (status < 0)
      status = 1;
  } else {
    api_set_vm(&api, NULL, err_msg(err));
  }
  api_stop(&api); /* no request uses the VM after this */
  metrics_close();
  if (err)
    log_err(err);
  vm_destroy(&vm);
  return status;
}

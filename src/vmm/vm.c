/* Building, running and tearing down one microVM. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "vmm/boot/boot.h"
#include "vmm/cpuid.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/metrics.h"
#include "vmm/devices/vmgenid.h"
#include "vmm/snapshot/snapshot.h"

#define METRICS_PERIOD_US (60ull * 1000 * 1000) /* Firecracker flushes every minute */

static void irq_set(void *ctx, int irq, bool level)
{
  struct vm *vm = ctx;
  if (kvm_irq_line(vm->vm_fd, irq, level) < 0)
    log_warn("cannot set IRQ %d: %s", irq, strerror(errno));
}

static void stop_request(void *ctx, int status, const char *why)
{
  vm_request_stop(ctx, VM_EXIT_GUEST, status, why);
}

void vm_request_stop(struct vm *vm, enum vm_exit kind, int status, const char *why)
{
  pthread_mutex_lock(&vm->exit_lock);
  if (vm->exit_kind == VM_EXIT_NONE) {
    vm->exit_kind = kind;
    vm->exit_status = status;
    if (kind == VM_EXIT_GUEST)
      log_info("%s", why);
    atomic_store(&vm->stopping, true);
    uint64_t one = 1;
    if (write(vm->stop_fd, &one, sizeof(one)) < 0)
      log_warn("cannot wake the main loop: %s", strerror(errno));
  }
  pthread_mutex_unlock(&vm->exit_lock);
}

int vm_pause(struct vm *vm, err_t *err)
{
  int started = 0;
  for (int i = 0; i < vm->ncpus; i++)
    started += vm->vcpus[i].started;
  atomic_store(&vm->pause_req, true);
  for (int i = 0; i < vm->ncpus; i++)
    vcpu_kick(&vm->vcpus[i]);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  int r = 0;
  pthread_mutex_lock(&vm->pause_lock);
  while (vm->npaused < started && !atomic_load(&vm->stopping) && r == 0)
    r = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
  bool ok = vm->npaused >= started;
  pthread_mutex_unlock(&vm->pause_lock);
  if (!ok) {
    vm_resume(vm);
    return err_make(err, ETIMEDOUT, "the vCPUs did not pause within 5 s");
  }
  METRIC_INC(pauses);
  return 0;
}

void vm_resume(struct vm *vm)
{
  if (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
    METRIC_INC(resumes);
  pthread_mutex_lock(&vm->pause_lock);
  atomic_store(&vm->pause_req, false);
  pthread_cond_broadcast(&vm->pause_cond);
  pthread_mutex_unlock(&vm->pause_lock);
}

bool vm_is_paused(struct vm *vm)
{
  return atomic_load(&vm->pause_req);
}

static int load_guest(struct vm *vm, const struct vm_config *cfg, err_t *err)
{
  _cleanup_close_ int kfd = open(cfg->kernel, O_RDONLY | O_CLOEXEC);
  if (kfd < 0)
    return err_sys(err, "cannot open kernel `%s`", cfg->kernel);
  if (kernel_load(&vm->mem, kfd, cfg->kernel, &vm->kernel, err) < 0)
    return -1;
  struct boot_config bc = {.cmdline = vm->cmdline, .ncpus = cfg->ncpus};
  if (cfg->initrd) {
    _cleanup_close_ int ifd = open(cfg->initrd, O_RDONLY | O_CLOEXEC);
    if (ifd < 0)
      return err_sys(err, "cannot open initrd `%s`", cfg->initrd);
    if (boot_load_initrd(&vm->mem, &vm->kernel, ifd, cfg->initrd, &bc, err) < 0)
      return -1;
  }
  bool lm = vm->kernel.proto == BOOT_LINUX64;
  if (boot_write_cmdline(&vm->mem, &vm->kernel, vm->cmdline, err) < 0 ||
      mptable_write(&vm->mem, cfg->ncpus, err) < 0 ||
      acpi_write(&vm->mem, cfg->ncpus, vm->acpi_devs, vm->nslots, &vm->rsdp, err) < 0 ||
      vmgenid_generate(&vm->mem, err) < 0 ||
      boot_write_gdt_and_page_tables(&vm->mem, lm, err) < 0)
    return -1;
  if (lm)
    return boot_write_zero_page(&vm->mem, &vm->kernel, &bc, vm->rsdp, err);
  return boot_write_pvh_info(&vm->mem, &bc, vm->rsdp, err);
}

static int attach_devices(struct vm *vm, const struct vm_config *cfg, err_t *err)
{
  struct stop_hook stop = {stop_request, vm};
  serial_init(&vm->serial, cfg->console_out, (struct irq_line){irq_set, vm, IRQ_COM1});
  i8042_init(&vm->i8042, (struct irq_line){irq_set, vm, IRQ_KEYBOARD}, stop);
  vm->devices_ready = true;
  if (serial_attach(&vm->serial, &vm->pio, PORT_COM1, err) < 0 ||
      i8042_attach(&vm->i8042, &vm->pio, err) < 0 ||
      power_attach(&vm->power, stop, &vm->pio, err) < 0)
    return -1;
  if (cfg->boot_timer &&
      boottimer_attach(&vm->boottimer, cfg->start_wall_us, cfg->start_cpu_us, &vm->mmio, err) < 0)
    return -1;
  return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, err_t *err)
{
  memset(vm, 0, sizeof(*vm));
  vm->cfg = cfg;
  vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
  vm->console_in = cfg->console_in;
  pthread_mutex_init(&vm->exit_lock, NULL);
  pthread_mutex_init(&vm->pause_lock, NULL);
  pthread_cond_init(&vm->pause_cond, NULL);
  bus_init(&vm->pio, "port");
  bus_init(&vm->mmio, "MMIO");
  if (evloop_init(&vm->loop, err) < 0)
    return -1;
  if (cfg->ncpus < 1 || cfg->ncpus > VMM_MAX_CPUS)
    return err_make(err, EINVAL, "%d vCPUs asked; isola-vmm runs 1 to %d", cfg->ncpus,
                    VMM_MAX_CPUS);
  vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (vm->stop_fd < 0)
    return err_sys(err, "cannot create an eventfd");
  bool restore = cfg->restore_state != NULL;
  _cleanup_close_ int memfd = -1;
  if (restore && (memfd = open(cfg->restore_mem, O_RDONLY | O_CLOEXEC)) < 0)
    return err_sys(err, "cannot open the snapshot's memory file `%s`", cfg->restore_mem);
  if (kvm_open(&vm->kvm_fd, &vm->run_size, err) < 0 ||
      kvm_create_vm(vm->kvm_fd, &vm->vm_fd, err) < 0 ||
      guest_mem_create_from(&vm->mem, cfg->memory, cfg->hugepages, memfd, err) < 0 ||
      (cfg->track_dirty && guest_mem_track_dirty(&vm->mem, err) < 0) ||
      kvm_set_memory(vm->vm_fd, &vm->mem, err) < 0 || attach_devices(vm, cfg, err) < 0 ||
      vm_attach_virtio(vm, cfg, err) < 0 || (!restore && load_guest(vm, cfg, err) < 0))
    return -1;
  int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
  if (max > 0 && cfg->ncpus > max)
    return err_make(err, EINVAL, "%d vCPUs asked; this host's KVM runs at most %d per VM",
                    cfg->ncpus, max);
  vm->supported_cpuid = cpuid_supported(vm->kvm_fd, err);
  if (!vm->supported_cpuid)
    return -1;
  vm->vcpus = calloc((size_t)cfg->ncpus, sizeof(*vm->vcpus));
  if (!vm->vcpus)
    return err_sys(err, "cannot allocate %d vCPUs", cfg->ncpus);
  for (int i = 0; i < cfg->ncpus; i++)
    vm->vcpus[i].fd = -1;
  vm->ncpus = cfg->ncpus;
  for (int i = 0; i < cfg->ncpus; i++)
    if (vcpu_create(vm, &vm->vcpus[i], i, err) < 0 || vcpu_configure(&vm->vcpus[i], err) < 0)
      return -1;
  if (restore) {
    if (snapshot_restore(vm, cfg->restore_state, err) < 0)
      return -1;
    /* Paused from here, not from vm_run(): the API reports the VM's state as
     * soon as it exists, and a Resumed sent then must not be undone. */
    if (cfg->restore_paused)
      atomic_store(&vm->pause_req, true);
    log_debug("restored `%s` (%d vCPUs, %llu MiB)", cfg->restore_state, cfg->ncpus,
              (unsigned long long)(cfg->memory / MiB));
    return 0;
  }
  log_debug("%s `%s` loaded at 0x%llx-0x%llx, entry 0x%llx, %d vCPUs, %llu MiB",
            vm->kernel.format, cfg->kernel, (unsigned long long)vm->kernel.load_start,
            (unsigned long long)vm->kernel.load_end, (unsigned long long)vm->kernel.entry,
            cfg->ncpus, (unsigned long long)(cfg->memory / MiB));
  return 0;
}

void vm_destroy(struct vm *vm)
{
  vm_release_virtio(vm); /* stops the device loop first */
  evloop_destroy(&vm->loop);
  for (int i = 0; vm->vcpus && i < vm->ncpus; i++)
    vcpu_release(&vm->vcpus[i]);
  free(vm->vcpus);
  vm->vcpus = NULL;
  free(vm->supported_cpuid);
  vm->supported_cpuid = NULL;
  if (vm->vm_fd >= 0)
    close(vm->vm_fd);
  if (vm->kvm_fd >= 0)
    close(vm->kvm_fd);
  if (vm->stop_fd >= 0)
    close(vm->stop_fd);
  vm->vm_fd = vm->kvm_fd = vm->stop_fd = -1;
  guest_mem_destroy(&vm->mem);
  bus_release(&vm->pio);
  bus_release(&vm->mmio);
  if (vm->devices_ready) {
    serial_destroy(&vm->serial);
    i8042_destroy(&vm->i8042);
    vm->devices_ready = false;
  }
  pthread_mutex_destroy(&vm->exit_lock);
  pthread_mutex_destroy(&vm->pause_lock);
  pthread_cond_destroy(&vm->pause_cond);
}

static void on_kick(int sig)
{
  (void)sig; /* only interrupts KVM_RUN */
}

/* Feed what the host typed to the UART, never more than its FIFO holds:
 * the rest waits in the terminal (back-pressure, no loss). */
static void console_input(struct vm *vm, bool *open)
{
  uint8_t buf[SERIAL_FIFO];
  size_t room = serial_rx_space(&vm->serial);
  if (room == 0)
    return;
  ssize_t n = read(vm->console_in, buf, room);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    *open = false; /* end of input: the guest keeps running */
    return;
  }
  serial_rx_push(&vm->serial, buf, (size_t)n);
}

static int main_loop(struct vm *vm, int sfd, err_t *err)
{
  bool in_open = vm->console_in >= 0;
  uint64_t next_metrics = clock_us(CLOCK_MONOTONIC) + METRICS_PERIOD_US;
  for (;;) {
    struct pollfd p[3] = {{vm->stop_fd, POLLIN, 0}, {sfd, POLLIN, 0}, {-1, POLLIN, 0}};
    int timeout = -1;
    if (in_open) {
      if (serial_rx_space(&vm->serial) > 0)
        p[2].fd = vm->console_in;
      else
        timeout = 10; /* the guest has not drained its FIFO yet */
    }
    if (metrics_is_open()) {
      uint64_t now = clock_us(CLOCK_MONOTONIC);
      if (now >= next_metrics) {
        err_t merr = NULL;
        if (metrics_flush(vm, &merr) < 0)
          log_err(merr);
        err_free(&merr);
        next_metrics = now + METRICS_PERIOD_US;
      }
      int until = (int)((next_metrics - now) / 1000) + 1;
      if (timeout < 0 || until < timeout)
        timeout = until;
    }
    int r = poll(p, 3, timeout);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return err_sys(err, "poll failed in the main loop");
    if (p[0].revents)
      return 0;
    if (p[1].revents) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGUSR1) {
          i8042_ctrl_alt_del(&vm->i8042);
        } else {
          log_info("stopping the VM on signal %d", si.ssi_signo);
          vm_request_stop(vm, VM_EXIT_SIGNAL, 128 + (int)si.ssi_signo, "signal");
        }
      }
    }
    if (p[2].revents)
      console_input(vm, &in_open);
  }
}

void vm_handled_signals(sigset_t *set)
{
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGHUP);
  sigaddset(set, SIGQUIT);
  sigaddset(set, SIGUSR1);
}

int vm_run(struct vm *vm, err_t *err)
{
  sigset_t handled, old;
  vm_handled_signals(&handled);
  struct sigaction kick = {.sa_handler = on_kick};
  sigemptyset(&kick.sa_mask);
  if (sigaction(SIGRTMIN, &kick, NULL) < 0)
    return err_sys(err, "cannot install the vCPU kick handler");
  signal(SIGPIPE, SIG_IGN); /* a closed console drops output, it does not kill the VM */
  pthread_sigmask(SIG_BLOCK, &handled, &old);
  _cleanup_close_ int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err_sys(err, "cannot create a signalfd");
  }
  /* The device loop runs only for virtio devices: a VM without any keeps
   * to one thread per vCPU. */
  int rc = vm->nslots ? evloop_start(&vm->loop, err) : 0;
  for (int i = 0; rc == 0 && vm->restored && i < vm->nslots; i++)
    virtio_slot_restored(&vm->slots[i]);
  for (int i = 0; rc == 0 && i < vm->ncpus; i++) {
    int e = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
    if (e) {
      errno = e;
      rc = err_sys(err, "cannot start the thread of vCPU %d", i);
      vm_request_stop(vm, VM_EXIT_ERROR, 1, "thread");
      break;
    }
    vm->vcpus[i].started = true;
  }
  if (rc == 0)
    rc = main_loop(vm, sfd, err);
  atomic_store(&vm->stopping, true);
  vm_resume(vm); /* parked vCPUs see `stopping` */
  for (int i = 0; i < vm->ncpus; i++)
    vcpu_kick(&vm->vcpus[i]);
  for (int i = 0; i < vm->ncpus; i++)
    if (vm->vcpus[i].started) {
      pthread_join(vm->vcpus[i].thread, NULL);
      vm->vcpus[i].started = false;
    }
  evloop_stop(&vm->loop);
  if (metrics_is_open()) {
    err_t merr = NULL;
    if (metrics_flush(vm, &merr) < 0)
      log_err(merr);
    err_free(&merr);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc < 0)
    return -1;
  return vm->exit_status;
}

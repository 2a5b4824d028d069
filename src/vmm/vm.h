/* One microVM: the KVM VM, its memory, buses, devices and vCPU threads.
 * vm_create() builds it from a config, vm_run() runs it to the end and
 * returns the process exit status, vm_destroy() releases everything (every
 * thread joined, every fd closed, the terminal restored by the caller). */
#ifndef ISOLA_VMM_VM_H
#define ISOLA_VMM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/kvm.h>

#include "common/err.h"
#include "vmm/boot/boot.h"
#include "vmm/boot/kernel.h"
#include "vmm/bus.h"
#include "vmm/devices/boottimer.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/power.h"
#include "vmm/devices/serial.h"
#include "vmm/evloop.h"
#include "vmm/memory.h"
#include "vmm/registry.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/slot.h"
#include "vmm/virtio/vsock.h"

/* virtio-mmio slots: one page each after the boot timer, on the ISA IRQs
 * nothing else uses (edge-triggered in the MP table and MADT). */
#define VM_MAX_VIRTIO 9

struct vm_net {
  const char *id; /* the API's iface_id; NULL from the command line */
  const char *tap;
  uint8_t mac[6];
  bool has_mac;
  struct ratelimit_config rx_rate_limiter, tx_rate_limiter;
};

struct vm_config {
  const char *kernel;
  const char *initrd;  /* NULL: none */
  const char *cmdline; /* never NULL */
  int ncpus;
  uint64_t memory; /* bytes */
  bool hugepages;
  bool boot_timer;
  uint64_t start_wall_us, start_cpu_us; /* process start, for the boot timer */
  int console_in, console_out;          /* the serial console's fds */
  const char *dump_acpi;                /* write the ACPI tables here and stop */
  struct virtio_blk_config disks[VM_MAX_VIRTIO];
  int ndisks;
  struct vm_net nets[VM_MAX_VIRTIO];
  int nnets;
  struct virtio_vsock_config vsock; /* cid 0: none */
  bool rng;
  struct ratelimit_config rng_rate_limiter;
  const char *virtio_console; /* the Unix socket of a virtio-console, or NULL */
  json_t *device_sections;    /* the api_section device types' configs (vmm/registry.h); borrowed */
  const char *restore_state, *restore_mem; /* a snapshot to restore instead of booting */
  bool restore_paused;                     /* keep the restored VM paused */
  bool track_dirty;                        /* dirty-page tracking, for Diff snapshots */
};

struct vm;

struct vcpu {
  struct vm *vm;
  int id;
  int fd;
  struct kvm_run *run;
  pthread_t thread;
  bool started;
};

/* Why the VM stopped; the first request wins. */
enum vm_exit {
  VM_EXIT_NONE,
  VM_EXIT_GUEST,  /* reset or power off: status 0 */
  VM_EXIT_ERROR,  /* triple fault, internal error: status 1 */
  VM_EXIT_SIGNAL, /* SIGTERM and friends: 128 + signal */
};

struct vm {
  const struct vm_config *cfg; /* outlives the VM (snapshots record its devices) */
  int kvm_fd, vm_fd;
  size_t run_size;
  struct guest_mem mem;
  struct bus pio, mmio;
  struct kernel_info kernel;
  struct kvm_cpuid2 *supported_cpuid;
  int ncpus;
  struct vcpu *vcpus;
  struct serial serial;
  struct i8042 i8042;
  struct power power;
  struct boottimer boottimer;
  uint64_t rsdp;
  bool devices_ready;
  char *cmdline; /* the user's, plus the virtio devices */
  struct evloop loop;
  struct virtio_host vhost;
  struct virtio_slot slots[VM_MAX_VIRTIO];
  struct acpi_mmio_dev acpi_devs[VM_MAX_VIRTIO];
  int nslots;
  struct virtio_blk disks[VM_MAX_VIRTIO];
  int ndisks;
  struct virtio_net nets[VM_MAX_VIRTIO];
  int nnets;
  struct virtio_vsock vsock;
  bool has_vsock;
  struct virtio_rng rng;
  bool has_rng;
  void *device_state[VMM_MAX_DEVICE_TYPES]; /* for device types that keep their own (vmm/registry.h) */
  int console_in;
  int stop_fd; /* eventfd: a vCPU or device asks the main loop to stop */
  atomic_bool stopping;
  pthread_mutex_t exit_lock;
  enum vm_exit exit_kind;
  int exit_status;
  /* pause: vCPU threads park themselves while pause_req is set */
  pthread_mutex_t pause_lock;
  pthread_cond_t pause_cond;
  atomic_bool pause_req;
  int npaused;
  bool restored;     /* from a snapshot: its virtio slots are looked at once running */
  bool snapshotted;  /* a snapshot was written: a Diff has a base */
};

int vm_create(struct vm *vm, const struct vm_config *cfg, err_t *err);
int vm_run(struct vm *vm, err_t *err);
/* The signals vm_run() reads from a signalfd (stop, SIGUSR1 for
 * Ctrl-Alt-Del); other threads must keep them blocked. */
void vm_handled_signals(sigset_t *set);
void vm_destroy(struct vm *vm);

/* Ask the VM to stop with `status` (0 guest exit, 1 error, 128+n signal);
 * later requests are ignored.  Safe from any thread. */
void vm_request_stop(struct vm *vm, enum vm_exit kind, int status, const char *why);

/* Stop every vCPU where it is (each finishes a pending I/O exit first, as
 * KVM asks before its state is read) and wait until all are parked; and
 * let them run again.  Safe from any thread but the vCPUs'. */
int vm_pause(struct vm *vm, err_t *err);
void vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);

/* The virtio devices of `cfg`: opened, placed in MMIO slots, described on
 * vm->cmdline and in vm->acpi_devs; released by vm_release_virtio() after
 * the device loop stopped. */
int vm_attach_virtio(struct vm *vm, const struct vm_config *cfg, err_t *err);
void vm_release_virtio(struct vm *vm);
/* For device types' attach(): put `dev` in the next MMIO slot (its
 * transport in *m), and watch a rate limiter's timerfd on the device loop
 * once it has one. */
int vm_add_slot(struct vm *vm, const struct virtio_dev_ops *ops, void *dev, struct virtio_mmio **m,
                err_t *err);
int vm_watch_timer(struct vm *vm, struct ratelimit *rl, evloop_fn fn, void *dev, err_t *err);
/* Disk `index` (in --disk order) gets another image while the VM runs. */
int vm_replace_disk(struct vm *vm, int index, const char *path, err_t *err);
/* New limits for a running device's rate limiter (Firecracker's PATCH of
 * rate_limiter): the device loop is paused meanwhile. */
int vm_set_rate_limit(struct vm *vm, struct ratelimit *rl, evloop_fn on_timer, void *dev,
                      const struct ratelimit_config *c, err_t *err);

/* vCPUs: created and configured by vm_create(), run by vm_run(). */
int vcpu_create(struct vm *vm, struct vcpu *v, int id, err_t *err);
int vcpu_configure(struct vcpu *v, err_t *err);
void *vcpu_thread(void *arg);
void vcpu_kick(struct vcpu *v);
void vcpu_release(struct vcpu *v);
/* Print the vCPU's registers and the instruction bytes at RIP. */
void vcpu_dump(struct vcpu *v, FILE *out);

#endif

/* The VM's virtio devices: disks first (the guest names them vda, vdb...
 * in this order), then NICs, vsock, console and rng, each in its own MMIO
 * slot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

/* ISA IRQs no legacy device of ours uses; the MP table and MADT leave them
 * edge-triggered, active high, which is how the slots raise them. */
static const int slot_irqs[VM_MAX_VIRTIO] = {5, 6, 7, 9, 10, 11, 13, 14, 15};

static void irq_pulse(void *ctx, int irq)
{
  struct vm *vm = ctx;
  if (kvm_irq_line(vm->vm_fd, irq, true) < 0 || kvm_irq_line(vm->vm_fd, irq, false) < 0)
    log_warn("cannot raise IRQ %d: %s", irq, strerror(errno));
}

static int add_slot(struct vm *vm, const struct virtio_dev_ops *ops, void *dev,
                    struct virtio_mmio **m, err_t *err)
{
  if (vm->nslots == VM_MAX_VIRTIO)
    return err_make(err, E2BIG, "too many virtio devices: isola-vmm gives a VM at most %d",
                    VM_MAX_VIRTIO);
  int i = vm->nslots++;
  uint64_t base = LAYOUT_VIRTIO + (uint64_t)i * VIRTIO_MMIO_SIZE;
  vm->acpi_devs[i] = (struct acpi_mmio_dev){base, VIRTIO_MMIO_SIZE, slot_irqs[i]};
  if (virtio_slot_attach(&vm->slots[i], &vm->vhost, ops, dev, base, slot_irqs[i], err) < 0)
    return -1;
  *m = &vm->slots[i].mmio;
  return 0;
}

/* The user's command line, then "virtio_mmio.device=4K@0x...:IRQ" for
 * each slot (Linux without ACPI finds them there; with ACPI, in the DSDT). */
static int build_cmdline(struct vm *vm, const char *user, err_t *err)
{
  size_t len = strlen(user) + 1 + (size_t)vm->nslots * 48;
  vm->cmdline = malloc(len);
  if (!vm->cmdline)
    return err_sys(err, "cannot allocate the kernel command line");
  size_t off = (size_t)snprintf(vm->cmdline, len, "%s", user);
  for (int i = 0; i < vm->nslots; i++) {
    off += (size_t)snprintf(vm->cmdline + off, len - off, off ? " " : "");
    off += (size_t)virtio_mmio_cmdline(vm->acpi_devs[i].base, vm->acpi_devs[i].irq,
                                       vm->cmdline + off, len - off);
  }
  return 0;
}

/* A rate limiter's timerfd on the device loop, once it has one. */
static int watch_timer(struct vm *vm, struct ratelimit *rl, evloop_fn fn, void *dev, err_t *err)
{
  int fd = ratelimit_fd(rl);
  return fd < 0 ? 0 : evloop_add(&vm->loop, fd, EPOLLIN, fn, dev, err);
}

static int add_disk(struct vm *vm, const struct virtio_blk_config *cfg, err_t *err)
{
  struct virtio_blk *b = &vm->disks[vm->ndisks];
  if (virtio_blk_open(b, cfg, err) < 0) {
    virtio_blk_close(b);
    return -1;
  }
  vm->ndisks++;
  if (add_slot(vm, virtio_blk_ops(b), b, &b->m, err) < 0)
    return -1;
  int efd = virtio_blk_event_fd(b);
  if (efd >= 0 && evloop_add(&vm->loop, efd, EPOLLIN, virtio_blk_on_event, b, err) < 0)
    return -1;
  if (watch_timer(vm, &b->rl, virtio_blk_on_timer, b, err) < 0)
    return -1;
  return evloop_on_quiesce(&vm->loop, virtio_blk_quiesce, b, err);
}

static int add_net(struct vm *vm, const struct vm_net *cfg, err_t *err)
{
  struct virtio_net *n = &vm->nets[vm->nnets];
  struct virtio_net_config nc = {cfg->tap, cfg->has_mac ? cfg->mac : NULL, cfg->rx_rate_limiter,
                                 cfg->tx_rate_limiter};
  if (virtio_net_open(n, &nc, err) < 0) {
    virtio_net_close(n);
    return -1;
  }
  vm->nnets++;
  if (add_slot(vm, virtio_net_ops(n), n, &n->m, err) < 0)
    return -1;
  if (watch_timer(vm, &n->rx_rl, virtio_net_on_rx_timer, n, err) < 0 ||
      watch_timer(vm, &n->tx_rl, virtio_net_on_tx_timer, n, err) < 0)
    return -1;
  return evloop_add(&vm->loop, n->tap_fd, EPOLLIN | EPOLLET, virtio_net_on_tap, n, err);
}

int vm_attach_virtio(struct vm *vm, const struct vm_config *cfg, err_t *err)
{
  vm->vhost = (struct virtio_host){.vm_fd = vm->vm_fd, .gm = &vm->mem, .mmio = &vm->mmio,
                                   .loop = &vm->loop, .irq_pulse = irq_pulse, .irq_ctx = vm};
  for (int i = 0; i < cfg->ndisks; i++)
    if (add_disk(vm, &cfg->disks[i], err) < 0)
      return -1;
  for (int i = 0; i < cfg->nnets; i++)
    if (add_net(vm, &cfg->nets[i], err) < 0)
      return -1;
  if (cfg->vsock.cid) {
    if (virtio_vsock_open(&vm->vsock, &cfg->vsock, &vm->loop, err) < 0)
      return -1;
    vm->has_vsock = true;
    if (add_slot(vm, &virtio_vsock_ops, &vm->vsock, &vm->vsock.m, err) < 0)
      return -1;
  }
  if (cfg->virtio_console) {
    if (virtio_console_open(&vm->console, cfg->virtio_console, &vm->loop, err) < 0)
      return -1;
    vm->has_console = true;
    if (add_slot(vm, &virtio_console_ops, &vm->console, &vm->console.m, err) < 0)
      return -1;
  }
  if (cfg->rng) {
    if (virtio_rng_open(&vm->rng, &cfg->rng_rate_limiter, err) < 0)
      return -1;
    vm->has_rng = true;
    if (add_slot(vm, &virtio_rng_ops, &vm->rng, &vm->rng.m, err) < 0 ||
        watch_timer(vm, &vm->rng.rl, virtio_rng_on_timer, &vm->rng, err) < 0)
      return -1;
  }
  return build_cmdline(vm, cfg->cmdline, err);
}

int vm_replace_disk(struct vm *vm, int index, const char *path, err_t *err)
{
  if (index < 0 || index >= vm->ndisks)
    return err_make(err, ENOENT, "the VM has no disk %d", index);
  evloop_pause(&vm->loop);
  int r = virtio_blk_replace(&vm->disks[index], path, err);
  evloop_resume(&vm->loop);
  return r;
}

int vm_set_rate_limit(struct vm *vm, struct ratelimit *rl, evloop_fn on_timer, void *dev,
                      const struct ratelimit_config *c, err_t *err)
{
  evloop_pause(&vm->loop);
  int made = ratelimit_configure(rl, c, err);
  int r = made == 1 ? watch_timer(vm, rl, on_timer, dev, err) : made;
  evloop_resume(&vm->loop);
  return r < 0 ? -1 : 0;
}

void vm_release_virtio(struct vm *vm)
{
  evloop_stop(&vm->loop);
  for (int i = 0; i < vm->nslots; i++)
    virtio_slot_release(&vm->slots[i]);
  vm->nslots = 0;
  for (int i = 0; i < vm->ndisks; i++)
    virtio_blk_close(&vm->disks[i]);
  vm->ndisks = 0;
  for (int i = 0; i < vm->nnets; i++) {
    evloop_remove(&vm->loop, vm->nets[i].tap_fd);
    virtio_net_close(&vm->nets[i]);
  }
  vm->nnets = 0;
  if (vm->has_vsock)
    virtio_vsock_close(&vm->vsock);
  vm->has_vsock = false;
  if (vm->has_console)
    virtio_console_close(&vm->console);
  vm->has_console = false;
  if (vm->has_rng) {
    evloop_remove(&vm->loop, ratelimit_fd(&vm->rng.rl));
    virtio_rng_close(&vm->rng);
  }
  vm->has_rng = false;
  free(vm->cmdline);
  vm->cmdline = NULL;
}

/* The VM's virtio devices: every virtio type of the registry in table
 * order (disks first: the guest names them vda, vdb... in this order),
 * each device in its own MMIO slot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/registry.h"
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

int vm_add_slot(struct vm *vm, const struct virtio_dev_ops *ops, void *dev, struct virtio_mmio **m,
                err_t *err)
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

int vm_watch_timer(struct vm *vm, struct ratelimit *rl, evloop_fn fn, void *dev, err_t *err)
{
  int fd = ratelimit_fd(rl);
  return fd < 0 ? 0 : evloop_add(&vm->loop, fd, EPOLLIN, fn, dev, err);
}

int vm_attach_virtio(struct vm *vm, const struct vm_config *cfg, err_t *err)
{
  vm->vhost = (struct virtio_host){.vm_fd = vm->vm_fd, .gm = &vm->mem, .mmio = &vm->mmio,
                                   .loop = &vm->loop, .irq_pulse = irq_pulse, .irq_ctx = vm};
  vmm_foreach_device_type(t) {
    if (t->kind == VMM_DEVICE_VIRTIO && t->attach(vm, cfg, err) < 0)
      return -1;
  }
  return build_cmdline(vm, cfg->cmdline, err);
}

int vm_set_rate_limit(struct vm *vm, struct ratelimit *rl, evloop_fn on_timer, void *dev,
                      const struct ratelimit_config *c, err_t *err)
{
  evloop_pause(&vm->loop);
  int made = ratelimit_configure(rl, c, err);
  int r = made == 1 ? vm_watch_timer(vm, rl, on_timer, dev, err) : made;
  evloop_resume(&vm->loop);
  return r < 0 ? -1 : 0;
}

void vm_release_virtio(struct vm *vm)
{
  evloop_stop(&vm->loop);
  for (int i = 0; i < vm->nslots; i++)
    virtio_slot_release(&vm->slots[i]);
  vm->nslots = 0;
  vmm_foreach_device_type(t) {
    if (t->kind == VMM_DEVICE_VIRTIO)
      t->release(vm);
  }
  free(vm->cmdline);
  vm->cmdline = NULL;
}

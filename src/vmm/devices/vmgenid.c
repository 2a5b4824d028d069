#include "vmm/devices/vmgenid.h"

#include <errno.h>
#include <sys/random.h>

#include "vmm/kvm.h"
#include "vmm/layout.h"

int vmgenid_generate(const struct guest_mem *gm, err_t *err)
{
  uint8_t id[VMGENID_SIZE];
  if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
    return err_sys(err, "cannot make a VM generation ID (getrandom)");
  return guest_mem_write(gm, LAYOUT_VMGENID, id, sizeof id, err);
}

int vmgenid_changed(const struct guest_mem *gm, int vm_fd, err_t *err)
{
  if (vmgenid_generate(gm, err) < 0)
    return -1;
  if (kvm_irq_line(vm_fd, IRQ_VMGENID, true) < 0 || kvm_irq_line(vm_fd, IRQ_VMGENID, false) < 0)
    return err_sys(err, "cannot raise the VM generation ID's interrupt (GSI %d)", IRQ_VMGENID);
  return 0;
}

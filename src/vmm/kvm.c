/* Opening KVM and creating the VM with the platform every isola microVM
 * has: in-kernel IOAPIC/LAPIC/8259 and PIT, TSS and identity-map pages in
 * the 32-bit hole, guest memory slots. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"

int kvm_open(int *kvm_fd, size_t *run_size, err_t *err)
{
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return err_sys(err, "cannot open /dev/kvm: this host offers no KVM (load kvm_intel or "
                          "kvm_amd, or enable nested virtualization)");
    if (errno == EACCES || errno == EPERM)
      return err_sys(err, "cannot open /dev/kvm: run as root or join the group that owns it "
                          "(usually `kvm`)");
    return err_sys(err, "cannot open /dev/kvm");
  }
  int version = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    close(fd);
    return err_make(err, ENOTSUP, "/dev/kvm speaks API version %d; isola-vmm needs %d", version,
                    KVM_API_VERSION);
  }
  static const struct {
    int cap;
    const char *name;
  } needed[] = {
      {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
      {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
      {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
      {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
      {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
  };
  for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
    if (ioctl(fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
      close(fd);
      return err_make(err, ENOTSUP, "this KVM lacks %s, which isola-vmm needs", needed[i].name);
    }
  }
  int size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size <= 0) {
    close(fd);
    return err_sys(err, "KVM_GET_VCPU_MMAP_SIZE failed");
  }
  *kvm_fd = fd;
  *run_size = (size_t)size;
  return 0;
}

int kvm_create_vm(int kvm_fd, int *vm_fd, err_t *err)
{
  int fd;
  do
    fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return err_sys(err, "cannot create a VM (KVM_CREATE_VM)");
  *vm_fd = fd;
  /* VMX needs the TSS and identity-map pages; other vendor modules (SVM,
   * PVM) do not offer the capability and need neither. */
  if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
      ioctl(fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
    return err_sys(err, "KVM_SET_TSS_ADDR failed");
  uint64_t ident = LAYOUT_IDENTITY_MAP;
  if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
      ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
    return err_sys(err, "KVM_SET_IDENTITY_MAP_ADDR failed");
  if (ioctl(fd, KVM_CREATE_IRQCHIP, 0) < 0)
    return err_sys(err, "cannot create the in-kernel interrupt controllers (KVM_CREATE_IRQCHIP)");
  struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
  if (ioctl(fd, KVM_CREATE_PIT2, &pit) < 0)
    return err_sys(err, "cannot create the in-kernel PIT (KVM_CREATE_PIT2)");
  return 0;
}

int kvm_set_memory(int vm_fd, const struct guest_mem *gm, err_t *err)
{
  for (int i = 0; i < gm->nregions; i++) {
    struct kvm_userspace_memory_region r = {
        .slot = (uint32_t)i,
        .guest_phys_addr = gm->regions[i].gpa,
        .memory_size = gm->regions[i].size,
        .userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].host,
        .flags = guest_mem_tracking(gm) ? KVM_MEM_LOG_DIRTY_PAGES : 0,
    };
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
      return err_sys(err, "cannot give guest memory region %d to KVM%s", i,
                     r.flags ? " with dirty-page logging" : "");
  }
  return 0;
}

int kvm_collect_dirty(int vm_fd, struct guest_mem *gm, err_t *err)
{
  for (int i = 0; i < gm->nregions; i++) {
    _cleanup_free_ uint64_t *bits = calloc(1, guest_mem_bitmap_size(gm, i));
    if (!bits)
      return err_make(err, ENOMEM, "out of memory for the dirty-page log");
    struct kvm_dirty_log log = {.slot = (uint32_t)i, .dirty_bitmap = bits};
    if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
      return err_sys(err, "cannot read KVM's dirty-page log of memory region %d", i);
    guest_mem_merge_dirty(gm, i, bits);
  }
  return 0;
}

int kvm_irq_line(int vm_fd, int irq, bool level)
{
  struct kvm_irq_level l = {.irq = (uint32_t)irq, .level = level};
  return ioctl(vm_fd, KVM_IRQ_LINE, &l);
}

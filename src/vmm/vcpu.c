/* vCPU set-up and run loop.  The boot vCPU starts at the kernel's entry in
 * the mode its protocol promises; the others wait, as on real hardware, for
 * the INIT/SIPI sequence the guest sends through its local APIC. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "vmm/boot/boot.h"
#include "vmm/cpuid.h"
#include "vmm/layout.h"
#include "vmm/metrics.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 4
#define APIC_MODE_EXTINT 7
#define XSAVE_BIT (1u << 26)

int vcpu_create(struct vm *vm, struct vcpu *v, int id, err_t *err)
{
  v->vm = vm;
  v->id = id;
  v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
  if (v->fd < 0)
    return err_sys(err, "cannot create vCPU %d (KVM_CREATE_VCPU)", id);
  void *run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
  if (run == MAP_FAILED)
    return err_sys(err, "cannot map the kvm_run area of vCPU %d", id);
  v->run = run;
  return 0;
}

void vcpu_release(struct vcpu *v)
{
  if (v->run)
    munmap(v->run, v->vm->run_size);
  v->run = NULL;
  if (v->fd >= 0)
    close(v->fd);
  v->fd = -1;
}

static void segment(struct kvm_segment *s, uint16_t sel, uint64_t desc)
{
  memset(s, 0, sizeof(*s));
  s->selector = sel;
  s->base = 0;
  s->limit = (desc >> 55) & 1 ? 0xffffffff : (uint32_t)(desc & 0xffff);
  s->type = (desc >> 40) & 0xf;
  s->s = (desc >> 44) & 1;
  s->dpl = (desc >> 45) & 3;
  s->present = (desc >> 47) & 1;
  s->avl = (desc >> 52) & 1;
  s->l = (desc >> 53) & 1;
  s->db = (desc >> 54) & 1;
  s->g = (desc >> 55) & 1;
}

static int set_boot_sregs(struct vcpu *v, err_t *err)
{
  struct kvm_sregs s;
  if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
    return err_sys(err, "vCPU %d: KVM_GET_SREGS failed", v->id);
  bool lm = v->vm->kernel.proto == BOOT_LINUX64;
  segment(&s.cs, SEL_CODE, lm ? GDT_CODE64 : GDT_CODE32);
  segment(&s.ds, SEL_DATA, GDT_DATA);
  s.es = s.fs = s.gs = s.ss = s.ds;
  segment(&s.tr, SEL_TSS, GDT_TSS);
  s.tr.type = 11; /* busy TSS, which VM entry requires */
  s.gdt.base = LAYOUT_GDT;
  s.gdt.limit = 5 * 8 - 1;
  s.idt.base = LAYOUT_IDT;
  s.idt.limit = 7;
  if (lm) {
    s.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    s.cr3 = LAYOUT_PML4;
    s.cr4 = CR4_PAE;
    s.efer = EFER_LME | EFER_LMA;
  } else {
    /* PVH: 32-bit protected mode, paging off (PVH boot ABI, "x86/HVM"). */
    s.cr0 = CR0_PE | CR0_ET | CR0_NE;
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
  }
  if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
    return err_sys(err, "vCPU %d: KVM_SET_SREGS failed", v->id);
  return 0;
}

static int set_boot_regs(struct vcpu *v, err_t *err)
{
  struct kvm_regs r;
  memset(&r, 0, sizeof(r));
  r.rflags = 0x2;
  r.rip = v->vm->kernel.entry;
  if (v->vm->kernel.proto == BOOT_LINUX64) {
    r.rsi = LAYOUT_ZERO_PAGE;
    r.rsp = r.rbp = LAYOUT_BOOT_STACK;
  } else {
    r.rbx = LAYOUT_PVH_INFO;
  }
  if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
    return err_sys(err, "vCPU %d: KVM_SET_REGS failed", v->id);
  return 0;
}

/* Architectural reset values Linux relies on; an MSR this KVM does not
 * know (PVM lacks some) is skipped rather than failing the boot. */
static int set_msrs(struct vcpu *v, err_t *err)
{
  static const struct {
    uint32_t index;
    uint64_t value;
  } msrs[] = {
      {0x174, 0}, {0x175, 0}, {0x176, 0},                 /* SYSENTER_CS/ESP/EIP */
      {0xc0000081, 0}, {0xc0000082, 0}, {0xc0000083, 0}, /* STAR, LSTAR, CSTAR */
      {0xc0000084, 0}, {0xc0000102, 0},                   /* SYSCALL_MASK, KERNEL_GS_BASE */
      {0x10, 0},                                          /* TSC */
      {0x1a0, 1},                                         /* MISC_ENABLE: fast strings */
      {0x2ff, (1 << 11) | 6},                             /* MTRRdefType: enabled, WB */
  };
  enum { N = sizeof(msrs) / sizeof(msrs[0]) };
  union {
    struct kvm_msrs hdr;
    uint8_t raw[sizeof(struct kvm_msrs) + N * sizeof(struct kvm_msr_entry)];
  } batch;
  /* One call sets them all; KVM stops at the first MSR it refuses (PVM
   * lacks some), which is then skipped and the rest sent again. */
  for (size_t start = 0; start < N;) {
    memset(&batch, 0, sizeof(batch));
    batch.hdr.nmsrs = (uint32_t)(N - start);
    for (size_t i = start; i < N; i++) {
      batch.hdr.entries[i - start].index = msrs[i].index;
      batch.hdr.entries[i - start].data = msrs[i].value;
    }
    int r = ioctl(v->fd, KVM_SET_MSRS, &batch);
    if (r < 0)
      return err_sys(err, "vCPU %d: KVM_SET_MSRS failed", v->id);
    start += (size_t)r;
    if (start < N) {
      log_debug("vCPU %d: KVM does not accept MSR 0x%x; left at its default", v->id,
                msrs[start].index);
      start++;
    }
  }
  return 0;
}

static int set_fpu_and_xcrs(struct vcpu *v, const struct kvm_cpuid2 *cpuid, err_t *err)
{
  struct kvm_fpu fpu;
  memset(&fpu, 0, sizeof(fpu));
  fpu.fcw = 0x37f;   /* x87 reset: all exceptions masked, extended precision */
  fpu.mxcsr = 0x1f80; /* SSE reset: all exceptions masked */
  if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
    return err_sys(err, "vCPU %d: KVM_SET_FPU failed", v->id);
  bool xsave = false;
  for (uint32_t i = 0; i < cpuid->nent; i++)
    if (cpuid->entries[i].function == 1)
      xsave = cpuid->entries[i].ecx & XSAVE_BIT;
  if (!xsave || ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0)
    return 0; /* no XSAVE offered (PVM): XCR0 does not exist for the guest */
  struct kvm_xcrs x;
  memset(&x, 0, sizeof(x));
  x.nr_xcrs = 1;
  x.xcrs[0].xcr = 0;
  x.xcrs[0].value = 0x3; /* x87 and SSE state */
  if (ioctl(v->fd, KVM_SET_XCRS, &x) < 0)
    return err_sys(err, "vCPU %d: KVM_SET_XCRS failed", v->id);
  return 0;
}

/* LINT0 as ExtINT (the 8259 behind it) and LINT1 as NMI: the wiring the MP
 * table and MADT describe, and what Linux expects from a BIOS. */
static int set_lapic(struct vcpu *v, err_t *err)
{
  struct kvm_lapic_state l;
  if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
    return err_sys(err, "vCPU %d: KVM_GET_LAPIC failed", v->id);
  uint32_t lvt0, lvt1;
  memcpy(&lvt0, l.regs + APIC_LVT0, 4);
  memcpy(&lvt1, l.regs + APIC_LVT1, 4);
  lvt0 = (lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
  lvt1 = (lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
  memcpy(l.regs + APIC_LVT0, &lvt0, 4);
  memcpy(l.regs + APIC_LVT1, &lvt1, 4);
  if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
    return err_sys(err, "vCPU %d: KVM_SET_LAPIC failed", v->id);
  return 0;
}

int vcpu_configure(struct vcpu *v, err_t *err)
{
  _cleanup_free_ struct kvm_cpuid2 *cpuid =
      cpuid_for_vcpu(v->vm->supported_cpuid, v->id, v->vm->ncpus, err);
  if (!cpuid)
    return -1;
  if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
    return err_sys(err, "vCPU %d: KVM_SET_CPUID2 failed", v->id);
  if (set_msrs(v, err) < 0 || set_fpu_and_xcrs(v, cpuid, err) < 0 || set_lapic(v, err) < 0)
    return -1;
  if (v->id != 0)
    return 0; /* application processors wait for INIT/SIPI */
  if (set_boot_sregs(v, err) < 0 || set_boot_regs(v, err) < 0)
    return -1;
  return 0;
}

void vcpu_kick(struct vcpu *v)
{
  if (!v->started)
    return;
  __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
  pthread_kill(v->thread, SIGRTMIN);
}

static void handle_io(struct vcpu *v)
{
  struct kvm_run *run = v->run;
  uint8_t *data = (uint8_t *)run + run->io.data_offset;
  for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
    bool claimed = run->io.direction == KVM_EXIT_IO_OUT
                       ? bus_write(&v->vm->pio, run->io.port, data, run->io.size)
                       : bus_read(&v->vm->pio, run->io.port, data, run->io.size);
    if (!claimed && run->io.port != 0x80) /* 0x80: the POST delay port, written by design */
      log_debug("vCPU %d: %s of unclaimed port 0x%x", v->id,
                run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read", run->io.port);
  }
}

static void handle_mmio(struct vcpu *v)
{
  struct kvm_run *run = v->run;
  bool claimed = run->mmio.is_write
                     ? bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len)
                     : bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
  if (!claimed)
    log_debug("vCPU %d: %s of unclaimed MMIO 0x%llx", v->id, run->mmio.is_write ? "write" : "read",
              (unsigned long long)run->mmio.phys_addr);
}

static const char *internal_suberror(uint32_t s)
{
  switch (s) {
  case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
  case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
  case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
  case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
  default: return "unknown suberror";
  }
}

static void guest_failed(struct vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void guest_failed(struct vcpu *v, const char *fmt, ...)
{
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  /* Print once: a triple fault on one vCPU can stop the others too. */
  pthread_mutex_lock(&v->vm->exit_lock);
  bool first = v->vm->exit_kind == VM_EXIT_NONE;
  if (first) {
    log_error("vCPU %d: %s", v->id, why);
    vcpu_dump(v, stderr);
  }
  pthread_mutex_unlock(&v->vm->exit_lock);
  vm_request_stop(v->vm, VM_EXIT_ERROR, 1, why);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
  struct kvm_run *run = v->run;
  switch (run->exit_reason) {
  case KVM_EXIT_IO:
    if (run->io.direction == KVM_EXIT_IO_OUT)
      METRIC_INC(exit_io_out);
    else
      METRIC_INC(exit_io_in);
    handle_io(v);
    return true;
  case KVM_EXIT_MMIO:
    if (run->mmio.is_write)
      METRIC_INC(exit_mmio_write);
    else
      METRIC_INC(exit_mmio_read);
    handle_mmio(v);
    return true;
  case KVM_EXIT_HLT:
    METRIC_INC(exit_hlt);
    return true; /* the in-kernel LAPIC normally keeps halts to itself */
  case KVM_EXIT_SHUTDOWN:
    guest_failed(v, "guest triple fault (KVM_EXIT_SHUTDOWN)");
    return false;
  case KVM_EXIT_INTERNAL_ERROR: {
    char data[128] = "";
    size_t at = 0;
    for (uint32_t i = 0; i < run->internal.ndata && i < 4 && at < sizeof(data); i++)
      at += (size_t)snprintf(data + at, sizeof(data) - at, " 0x%llx",
                             (unsigned long long)run->internal.data[i]);
    guest_failed(v, "KVM internal error, suberror %u (%s), data:%s", run->internal.suberror,
                 internal_suberror(run->internal.suberror), data);
    return false;
  }
  case KVM_EXIT_FAIL_ENTRY:
    guest_failed(v, "KVM could not enter the guest, hardware reason 0x%llx",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    return false;
  case KVM_EXIT_SYSTEM_EVENT:
    if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
      guest_failed(v, "the guest reported a crash (KVM_SYSTEM_EVENT_CRASH)");
    } else {
      vm_request_stop(v->vm, VM_EXIT_GUEST, 0,
                      run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "the guest reset"
                                                                       : "the guest shut down");
    }
    return false;
  default:
    guest_failed(v, "unexpected KVM exit reason %u", run->exit_reason);
    return false;
  }
}

/* Parked while the VM is paused.  A kick may have left an I/O or MMIO exit
 * half done (the data of an IN is written to the registers by the next
 * KVM_RUN): one KVM_RUN with immediate_exit completes it first. */
static void park(struct vcpu *v)
{
  struct vm *vm = v->vm;
  __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (ioctl(v->fd, KVM_RUN, 0) == 0)
    handle_exit(v);
  __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&vm->pause_lock);
  vm->npaused++;
  pthread_cond_broadcast(&vm->pause_cond);
  while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
    pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
  vm->npaused--;
  pthread_mutex_unlock(&vm->pause_lock);
}

void *vcpu_thread(void *arg)
{
  struct vcpu *v = arg;
  struct vm *vm = v->vm;
  err_t err = NULL;
  if (sandbox_apply(SANDBOX_VCPU, &err) < 0) {
    log_err(err);
    err_free(&err);
    vm_request_stop(vm, VM_EXIT_ERROR, 1, "seccomp");
    return NULL;
  }
  sandbox_selftest(SANDBOX_VCPU);
  while (!atomic_load(&vm->stopping)) {
    if (atomic_load(&vm->pause_req)) {
      park(v);
      continue;
    }
    if (ioctl(v->fd, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        continue;
      }
      guest_failed(v, "KVM_RUN failed: %s", strerror(errno));
      break;
    }
    if (!handle_exit(v))
      break;
  }
  return NULL;
}

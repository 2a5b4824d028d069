/* What isola-vmm prints when a guest dies: the registers, the segment and
 * control state, and the instruction bytes at RIP (the faulting one in
 * angle brackets, as the kernel's oops "Code:" line). */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vm.h"

static void seg(FILE *out, const char *name, const struct kvm_segment *s)
{
  fprintf(out, "  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=%u dpl=%u l=%u db=%u\n", name,
          s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->l, s->db);
}

static void code(FILE *out, struct vcpu *v, uint64_t linear)
{
  uint8_t bytes[32];
  int n = 0;
  uint64_t start = linear >= 16 ? linear - 16 : 0;
  for (uint64_t a = start; a < start + sizeof(bytes); a++) {
    struct kvm_translation t = {.linear_address = a};
    uint8_t *p = NULL;
    if (ioctl(v->fd, KVM_TRANSLATE, &t) == 0 && t.valid)
      p = guest_mem_ptr(&v->vm->mem, t.physical_address, 1);
    if (!p)
      break;
    bytes[n++] = *p;
  }
  fprintf(out, "  code:");
  if (n == 0)
    fprintf(out, " (RIP 0x%llx is not mapped to guest memory)", (unsigned long long)linear);
  for (int i = 0; i < n; i++)
    fprintf(out, start + (uint64_t)i == linear ? " <%02x>" : " %02x", bytes[i]);
  fprintf(out, "\n");
}

void vcpu_dump(struct vcpu *v, FILE *out)
{
  struct kvm_regs r;
  struct kvm_sregs s;
  if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
    fprintf(out, "  (cannot read the registers of vCPU %d)\n", v->id);
    return;
  }
  fprintf(out,
          "vCPU %d registers:\n"
          "  rip=0x%016llx rsp=0x%016llx rflags=0x%016llx\n"
          "  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n"
          "  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx\n"
          "  r8 =0x%016llx r9 =0x%016llx r10=0x%016llx r11=0x%016llx\n"
          "  r12=0x%016llx r13=0x%016llx r14=0x%016llx r15=0x%016llx\n"
          "  cr0=0x%016llx cr2=0x%016llx cr3=0x%016llx cr4=0x%016llx efer=0x%llx\n",
          v->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8,
          r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
  seg(out, "cs", &s.cs);
  seg(out, "ss", &s.ss);
  seg(out, "ds", &s.ds);
  fprintf(out, "  gdt=0x%llx/%u idt=0x%llx/%u\n", (unsigned long long)s.gdt.base, s.gdt.limit,
          (unsigned long long)s.idt.base, s.idt.limit);
  code(out, v, s.cs.base + r.rip);
}

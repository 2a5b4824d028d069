/* Entry points of the test guests.
 *   pvh_start (0x100000): PVH, 32-bit protected mode, paging off, %ebx =
 *     hvm_start_info.  Loads its own identity map of 4 GiB, enters long mode.
 *   start64 (0x100200): Linux 64-bit boot protocol, %rsi = boot_params,
 *     on the VMM's page tables.  Records the entry state for verify.c first.
 *   trampoline: 16-bit code copied to TRAMP_BASE for application processors
 *     started by INIT/SIPI; it goes real -> protected -> long mode. */
#define TRAMP_BASE 0x10000
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define AP_STACK 8192

/* From 32-bit protected mode into long mode (Intel SDM vol. 3A 10.8.5):
 * PAE, CR3 from `cr3src`, EFER.LME, then paging (and PE) on. */
.macro enter_long_mode cr3src
  movl %cr4, %eax
  orl $0x20, %eax
  movl %eax, %cr4
  movl \cr3src, %eax
  movl %eax, %cr3
  movl $0xc0000080, %ecx
  rdmsr
  orl $0x100, %eax
  wrmsr
  movl %cr0, %eax
  orl $0x80000001, %eax
  movl %eax, %cr0
.endm

  .section .head, "ax"
  .code32
  .globl pvh_start
pvh_start:
  cli
  movl %ebx, pvh_info
  movl $1, boot_mode
  lgdt gdt_ptr
  enter_long_mode $pml4
  ljmp $SEL_CODE64, $pvh_long

  .code64
pvh_long:
  movw $SEL_DATA, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  jmp common64

  .org 0x200
  .globl start64
start64:
  cli
  movq %rsi, boot_params
  movq %rsp, entry_rsp
  pushfq
  popq entry_rflags
  movw %cs, entry_cs
  movw %ds, entry_ds
  movw %es, entry_es
  movw %ss, entry_ss
  movq %cr0, %rax
  movq %rax, entry_cr0
  movq %cr3, %rax
  movq %rax, entry_cr3
  movq %cr4, %rax
  movq %rax, entry_cr4
  movl $0xc0000080, %ecx
  rdmsr
  movl %eax, entry_efer
  /* Our own GDT, so that interrupt gates and the APs share one code
   * selector: reload CS through a far return. */
  lgdt gdt_ptr
  pushq $SEL_CODE64
  pushq $1f
  lretq
1:
  movw $SEL_DATA, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss

common64:
  movq $bsp_stack_top, %rsp
  /* Clear .bss (small: the stacks live in .stack, which needs no
   * clearing).  On PVM a non-enlightened guest's kernel-mode code is
   * emulated instruction by instruction (~10 us each), so every loop
   * here costs boot time. */
  movq $__bss_start, %rdi
  movq $__bss_end, %rcx
  subq %rdi, %rcx
  xorl %eax, %eax
  rep stosb
  call guest_main
  call guest_poweroff
3:
  cli
  hlt
  jmp 3b

  .text
  .code64
  .globl ap_entry64
ap_entry64:
  movw $SEL_DATA, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movl $1, %eax
  lock xaddl %eax, ap_next
  movl %eax, %edi
  movq %rdi, %rsp
  shlq $13, %rsp
  addq $ap_stacks + AP_STACK, %rsp
  call ap_main
4:
  cli
  hlt
  jmp 4b

/* Real-mode trampoline: position-dependent on TRAMP_BASE, copied there. */
  .code16
  .globl trampoline_start, trampoline_end, trampoline_cr3
trampoline_start:
  cli
  movw %cs, %ax
  movw %ax, %ds
  lgdtl (tramp_gdt - trampoline_start)
  movl %cr0, %eax
  orl $1, %eax
  movl %eax, %cr0
  ljmpl $SEL_CODE32, $(TRAMP_BASE + tramp32 - trampoline_start)
  .code32
tramp32:
  movw $SEL_DATA, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  enter_long_mode (TRAMP_BASE + trampoline_cr3 - trampoline_start)
  ljmpl $SEL_CODE64, $ap_entry64
  .p2align 2
tramp_gdt:
  .word gdt_end - gdt - 1
  .long gdt
trampoline_cr3:
  .long 0
trampoline_end:

  .data
  .p2align 3
gdt:
  .quad 0
  .quad 0x00af9a000000ffff /* 0x08 code, 64-bit */
  .quad 0x00cf92000000ffff /* 0x10 data */
  .quad 0x00cf9a000000ffff /* 0x18 code, 32-bit */
gdt_end:
gdt_ptr:
  .word gdt_end - gdt - 1
  .quad gdt
  .globl boot_mode, boot_params, pvh_info, entry_rsp, entry_rflags, entry_cs, entry_ds
  .globl entry_es, entry_ss, entry_cr0, entry_cr3, entry_cr4, entry_efer, ap_next
boot_mode: .long 0
ap_next: .long 1
boot_params: .quad 0
pvh_info: .quad 0
entry_rsp: .quad 0
entry_rflags: .quad 0
entry_cr0: .quad 0
entry_cr3: .quad 0
entry_cr4: .quad 0
entry_efer: .long 0
entry_cs: .word 0
entry_ds: .word 0
entry_es: .word 0
entry_ss: .word 0

/* The PVH entry's identity map of 4 GiB, built by the assembler rather
 * than by a loop at boot (PVM emulates every instruction of it). */
  .section .pgtable, "aw"
  .p2align 12
pml4:
  .quad pdpt + 3
  .fill 511, 8, 0
pdpt:
  .quad pd + 3, pd + 0x1003, pd + 0x2003, pd + 0x3003
  .fill 508, 8, 0
pd:
  .set page, 0
  .rept 2048
  .quad (page << 21) | 0x83
  .set page, page + 1
  .endr

  .section .stack, "aw", @nobits
  .p2align 12
  .globl ap_stacks
bsp_stack: .skip 16384
bsp_stack_top:
ap_stacks: .skip 32 * AP_STACK

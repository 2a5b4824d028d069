/* Interrupt and exception stubs: each pushes a dummy error code when the
 * CPU does not, then its vector, and calls isr_dispatch(vector, frame). */
  .text
  .code64
.macro stub vec, has_error
  .p2align 4
isr_\vec:
  .if \has_error == 0
  pushq $0
  .endif
  pushq $\vec
  jmp isr_common
.endm

isr_common:
  pushq %rax
  pushq %rcx
  pushq %rdx
  pushq %rsi
  pushq %rdi
  pushq %r8
  pushq %r9
  pushq %r10
  pushq %r11
  movq 72(%rsp), %rdi   /* vector */
  leaq 80(%rsp), %rsi   /* error code, then the CPU's frame (rip, cs, rflags, rsp, ss) */
  call isr_dispatch
  popq %r11
  popq %r10
  popq %r9
  popq %r8
  popq %rdi
  popq %rsi
  popq %rdx
  popq %rcx
  popq %rax
  addq $16, %rsp
  iretq

.altmacro
.macro stubs from, to
  .if \from == 8 || (\from >= 10 && \from <= 14) || \from == 17 || \from == 21 || \from == 29 || \from == 30
  stub %from, 1
  .else
  stub %from, 0
  .endif
  .if \to - \from
  stubs %(\from + 1), \to
  .endif
.endm
stubs 0, 63

  .section .rodata
  .p2align 3
  .globl isr_table
isr_table:
.macro entry n
  .quad isr_\n
.endm
.set i, 0
.rept 64
  entry %i
  .set i, i + 1
.endr

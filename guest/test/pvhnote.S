/* The Xen ELF note that names the PVH 32-bit entry (XEN_ELFNOTE_PHYS32_ENTRY,
 * xen/include/public/elfnote.h); QEMU and isola-vmm enter there. */
  .section .note.Xen, "a", @note
  .p2align 2
  .long 4, 4, 18
  .asciz "Xen"
  .p2align 2
  .long pvh_start
  .p2align 2

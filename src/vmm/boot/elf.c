/* ELF vmlinux: PT_LOAD segments at their physical addresses.  With a Xen
 * PVH note (XEN_ELFNOTE_PHYS32_ENTRY) the kernel is entered there in 32-bit
 * mode (PVH boot ABI, xen/include/public/elfnote.h), as QEMU and Firecracker
 * do; without one at e_entry in 64-bit mode with a zero page. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "vmm/boot/kernel.h"
#include "vmm/layout.h"

#define MAX_PHDRS 64
#define MAX_NOTES (64 * 1024)
#define ELF_CMDLINE_MAX 2047

static int find_pvh_entry(int fd, uint64_t file_size, const Elf64_Phdr *ph, const char *path,
                          uint64_t *entry, err_t *err)
{
  if (ph->p_filesz > MAX_NOTES || ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset)
    return err_make(err, EINVAL, "ELF `%s`: a PT_NOTE segment lies outside the file", path);
  _cleanup_free_ uint8_t *notes = malloc(ph->p_filesz + 1);
  if (!notes)
    return err_sys(err, "cannot read the notes of `%s`", path);
  if (kernel_pread(fd, notes, ph->p_filesz, ph->p_offset, path, err) < 0)
    return -1;
  uint64_t off = 0;
  while (off + sizeof(Elf64_Nhdr) <= ph->p_filesz) {
    Elf64_Nhdr n;
    memcpy(&n, notes + off, sizeof(n));
    uint64_t name_at = off + sizeof(n);
    uint64_t desc_at = name_at + ((n.n_namesz + 3ULL) & ~3ULL);
    uint64_t next = desc_at + ((n.n_descsz + 3ULL) & ~3ULL);
    if (next > ph->p_filesz)
      return err_make(err, EINVAL, "ELF `%s`: a note runs past its PT_NOTE segment", path);
    if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
        memcmp(notes + name_at, "Xen", 4) == 0) {
      uint32_t e32 = 0;
      uint64_t e64 = 0;
      if (n.n_descsz == 4) {
        memcpy(&e32, notes + desc_at, 4);
        e64 = e32;
      } else if (n.n_descsz == 8) {
        memcpy(&e64, notes + desc_at, 8);
      } else {
        return err_make(err, EINVAL, "ELF `%s`: the PVH entry note has %u bytes (want 4 or 8)",
                        path, n.n_descsz);
      }
      *entry = e64;
      return 1;
    }
    off = next;
  }
  return 0;
}

static int load_segment(const struct guest_mem *gm, int fd, uint64_t file_size,
                        const Elf64_Phdr *ph, const char *path, err_t *err)
{
  if (ph->p_filesz > ph->p_memsz)
    return err_make(err, EINVAL, "ELF `%s`: a segment's file size exceeds its memory size", path);
  if (ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset)
    return err_make(err, EINVAL, "ELF `%s`: a PT_LOAD segment lies outside the file", path);
  if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
    return err_make(err, EINVAL, "ELF `%s`: a PT_LOAD segment wraps the address space", path);
  if (!guest_mem_ptr(gm, ph->p_paddr, ph->p_memsz))
    return err_make(err, ENOMEM,
                    "ELF `%s` loads at 0x%llx-0x%llx, beyond the %llu MiB of guest memory; raise "
                    "--memory",
                    path, (unsigned long long)ph->p_paddr,
                    (unsigned long long)(ph->p_paddr + ph->p_memsz),
                    (unsigned long long)(gm->total / MiB));
  if (ph->p_paddr < LAYOUT_HIMEM)
    return err_make(err, EINVAL, "ELF `%s` loads at 0x%llx, below 1 MiB where the boot structures "
                                 "live", path, (unsigned long long)ph->p_paddr);
  if (kernel_copy_to_guest(gm, fd, ph->p_offset, ph->p_filesz, ph->p_paddr, path, err) < 0)
    return -1;
  return guest_mem_fill(gm, ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz, err);
}

int elf_load(const struct guest_mem *gm, int fd, uint64_t file_size, const char *path,
             struct kernel_info *ki, err_t *err)
{
  Elf64_Ehdr eh;
  if (file_size < sizeof(eh))
    return 0;
  if (kernel_pread(fd, &eh, sizeof(eh), 0, path, err) < 0)
    return -1;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return 0;
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return err_make(err, EINVAL, "ELF `%s` is not a 64-bit little-endian image", path);
  if (eh.e_machine != EM_X86_64)
    return err_make(err, EINVAL, "ELF `%s` is for machine %u, not x86-64", path, eh.e_machine);
  if (eh.e_type != ET_EXEC)
    return err_make(err, EINVAL, "ELF `%s` is not an executable image (e_type %u)", path,
                    eh.e_type);
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
    return err_make(err, EINVAL, "ELF `%s` has a bad program header table (%u entries of %u bytes)",
                    path, eh.e_phnum, eh.e_phentsize);
  Elf64_Phdr ph[MAX_PHDRS];
  if (kernel_pread(fd, ph, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff, path, err) < 0)
    return -1;

  uint64_t lo = UINT64_MAX, hi = 0, pvh_entry = 0;
  bool pvh = false;
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type == PT_NOTE && !pvh) {
      int r = find_pvh_entry(fd, file_size, &ph[i], path, &pvh_entry, err);
      if (r < 0)
        return -1;
      pvh = r == 1;
    }
    if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
      continue;
    if (load_segment(gm, fd, file_size, &ph[i], path, err) < 0)
      return -1;
    if (ph[i].p_paddr < lo)
      lo = ph[i].p_paddr;
    if (ph[i].p_paddr + ph[i].p_memsz > hi)
      hi = ph[i].p_paddr + ph[i].p_memsz;
  }
  if (hi == 0)
    return err_make(err, EINVAL, "ELF `%s` has no PT_LOAD segment to load", path);
  ki->format = pvh ? "PVH ELF" : "ELF";
  ki->proto = pvh ? BOOT_PVH : BOOT_LINUX64;
  ki->entry = pvh ? pvh_entry : eh.e_entry;
  ki->load_start = lo;
  ki->load_end = hi;
  /* No setup header to say: Linux/x86 keeps COMMAND_LINE_SIZE (2048)
   * bytes with the NUL and silently drops the rest, so refuse longer. */
  ki->cmdline_max = ELF_CMDLINE_MAX;
  ki->initrd_limit = LAYOUT_MMIO_START;
  if (pvh && ki->entry >= 0x100000000ULL)
    return err_make(err, EINVAL, "ELF `%s`: the PVH entry 0x%llx is not a 32-bit address", path,
                    (unsigned long long)ki->entry);
  if (!guest_mem_ptr(gm, ki->entry, 1))
    return err_make(err, EINVAL, "ELF `%s`: the entry point 0x%llx is outside guest memory", path,
                    (unsigned long long)ki->entry);
  return 1;
}

#!/usr/bin/env python3
"""Wrap a test guest into a bzImage (Linux boot protocol 2.15) so that the
64-bit boot protocol path of a VMM loads it like a kernel.

    mkbzimage.py GUEST.elf GUEST.bin OUT.bzImage

GUEST.bin is `objcopy -O binary` of GUEST.elf, linked at 1 MiB with the
64-bit entry 0x200 into it; the ELF gives the size including .bss."""
import struct
import sys


def memory_end(elf):
    with open(elf, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = 0
    for i in range(phnum):
        p_type, _, _, _, paddr, _, memsz, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            end = max(end, paddr + memsz)
    return end


def main():
    elf, binary, out = sys.argv[1:4]
    payload = open(binary, "rb").read()
    init_size = memory_end(elf) - 0x100000
    setup_sects = 1
    setup = bytearray(512 * (setup_sects + 1))
    struct.pack_into("<B", setup, 0x1f1, setup_sects)
    struct.pack_into("<I", setup, 0x1f4, (len(payload) + 15) // 16)  # syssize
    struct.pack_into("<H", setup, 0x1fe, 0xAA55)
    struct.pack_into("<H", setup, 0x200, 0x66EB)  # jmp over the header
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020F)  # protocol 2.15
    struct.pack_into("<B", setup, 0x211, 0x01)  # loadflags: LOADED_HIGH
    struct.pack_into("<I", setup, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", setup, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
    struct.pack_into("<I", setup, 0x230, 0x200000)  # kernel_alignment
    struct.pack_into("<B", setup, 0x234, 0)  # not relocatable
    struct.pack_into("<H", setup, 0x236, 0x0003)  # XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
    struct.pack_into("<I", setup, 0x238, 4095)  # cmdline_size
    struct.pack_into("<Q", setup, 0x258, 0x100000)  # pref_address
    struct.pack_into("<I", setup, 0x260, init_size)
    with open(out, "wb") as f:
        f.write(bytes(setup) + payload)


if __name__ == "__main__":
    main()

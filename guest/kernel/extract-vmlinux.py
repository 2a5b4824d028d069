#!/usr/bin/env python3
"""Extract the ELF vmlinux from a bzImage: the setup header's payload_offset
and payload_length (boot protocol 2.08+) locate the compressed kernel.

    extract-vmlinux.py BZIMAGE OUT"""
import gzip
import lzma
import struct
import subprocess
import sys


def decompress(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    if data[:3] == b"\x5d\x00\x00":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
    sys.exit("extract-vmlinux: unknown compression (magic %s)" % data[:6].hex())


def main():
    src, out = sys.argv[1:3]
    image = open(src, "rb").read()
    if image[0x202:0x206] != b"HdrS":
        sys.exit("extract-vmlinux: %s is not a bzImage" % src)
    setup_sects = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + offset
    elf = decompress(image[start:start + length])
    if elf[:4] != b"\x7fELF":
        sys.exit("extract-vmlinux: the payload of %s is not an ELF image" % src)
    with open(out, "wb") as f:
        f.write(elf)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write a newc cpio initramfs with busybox-static as /bin/busybox and an
/init that mounts /proc, prints ISOLA-INIT-OK and what the kernel saw, then
powers off (ACPI S5, which isola-vmm turns into exit status 0).

    mkinitramfs.py BUSYBOX OUT"""
import os
import sys

INIT = b"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
echo ISOLA-INIT-OK
echo "cpus: $(/bin/busybox grep -c ^processor /proc/cpuinfo)"
echo "cmdline: $(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
"""


def entry(name, mode, data=b"", rdev=(0, 0), ino=[1]):
    ino[0] += 1
    name_b = name.encode() + b"\0"
    hdr = "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x" % (
        ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def main():
    busybox, out = sys.argv[1:3]
    blob = b""
    for d in ("bin", "dev", "proc", "sys"):
        blob += entry(d, 0o040755)
    blob += entry("dev/console", 0o020600, rdev=(5, 1))
    blob += entry("bin/busybox", 0o100755, open(busybox, "rb").read())
    blob += entry("init", 0o100755, INIT)
    blob += entry("TRAILER!!!", 0)
    with open(out, "wb") as f:
        f.write(blob)
    os.chmod(out, 0o644)


if __name__ == "__main__":
    main()

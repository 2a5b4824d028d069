#!/usr/bin/env python3
"""Write a newc cpio initramfs, one of two kinds:

    mkinitramfs.py BUSYBOX OUT
        busybox-static as /bin/busybox and an /init that mounts /proc, prints
        ISOLA-INIT-OK and what the kernel saw, then powers off (ACPI S5, which
        isola-vmm turns into exit status 0)
    mkinitramfs.py --isola-init ISOLA_INIT MODULES_DIR OUT
        isola-init as /init with the modules of MODULES_DIR (made by
        modules.py: *.ko and isola.list) in /lib/modules"""
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


def isola_initrd(init, modules, out):
    blob = b""
    for d in ("dev", "proc", "sys", "run", "tmp", "etc", "lib", "lib/modules", "newroot"):
        blob += entry(d, 0o040755)
    blob += entry("dev/console", 0o020600, rdev=(5, 1))
    blob += entry("init", 0o100755, open(init, "rb").read())
    for f in sorted(os.listdir(modules)):
        blob += entry("lib/modules/" + f, 0o100644, open(os.path.join(modules, f), "rb").read())
    blob += entry("TRAILER!!!", 0)
    with open(out, "wb") as f:
        f.write(blob)


def main():
    if sys.argv[1] == "--isola-init":
        isola_initrd(*sys.argv[2:5])
        return
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

"""L1's initramfs: tests/nested/l1-init as /init, busybox-static (every
program l1-init runs is one of its applets) and the modules of
tests/nested/fetch-l1-kernel in /lib/modules, packed by cpio(1) in the
kernel's newc format."""
import os
import shutil
import stat
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DIRS = ("bin", "dev", "proc", "sys", "lib/modules", "lower", "upper", "newroot")


def is_static(path):
    """True if the ELF file at `path` asks for no program interpreter."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3  # PT_INTERP
               for i in range(phnum))


def build(busybox, modules, stage, out):
    """Write the initramfs to `out`, staging its files in `stage`."""
    shutil.rmtree(stage, ignore_errors=True)
    for d in DIRS:
        os.makedirs(os.path.join(stage, d))
    os.mknod(os.path.join(stage, "dev", "console"), 0o600 | stat.S_IFCHR, os.makedev(5, 1))
    shutil.copy(os.path.join(HERE, "l1-init"), os.path.join(stage, "init"))
    os.chmod(os.path.join(stage, "init"), 0o755)
    shutil.copy(busybox, os.path.join(stage, "bin", "busybox"))
    os.chmod(os.path.join(stage, "bin", "busybox"), 0o755)
    for f in os.listdir(modules):
        shutil.copy(os.path.join(modules, f), os.path.join(stage, "lib", "modules", f))
    names = []
    for dirpath, dirs, files in os.walk(stage):
        rel = os.path.relpath(dirpath, stage)
        names += [os.path.normpath(os.path.join(rel, n)) for n in sorted(dirs) + sorted(files)]
    with open(out, "wb") as f:
        subprocess.run(["cpio", "--create", "--format=newc", "--owner=0:0", "--quiet"],
                       input="\n".join(names).encode() + b"\n", stdout=f, cwd=stage, check=True)

"""Bad kernels, bad sizes and a missing /dev/kvm give errors that say what
is wrong and what to do, with status 1 (bad input to the VM) or 2 (bad
command line) and nothing left running (issue #4)."""
import os
import struct
import subprocess

import pytest

from harness.fixtures import run
from harness.vmm import boot, guest


def vmm(isola, *args):
    return run([isola.bin("isola-vmm"), *args], timeout=30)


def test_not_a_kernel(isola, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"hello\n" * 1000)
    b = boot(isola, junk)
    assert b.rc == 1
    assert "is not a kernel: neither an ELF image nor a bzImage" in b.err


def patched_bzimage(isola, tmp_path, offset, value):
    """The hello guest's bzImage with one 16-bit setup-header field changed."""
    image = bytearray(guest(isola, "hello", "bzimage").read_bytes())
    struct.pack_into("<H", image, offset, value)
    k = tmp_path / "patched.bzImage"
    k.write_bytes(image)
    return k


def test_too_old_boot_protocol(isola, tmp_path):
    b = boot(isola, patched_bzimage(isola, tmp_path, 0x206, 0x0209))  # version
    assert b.rc == 1
    assert "uses boot protocol 2.09, too old: isola-vmm needs 2.12 or later" in b.err


def test_bzimage_without_64bit_entry(isola, tmp_path):
    b = boot(isola, patched_bzimage(isola, tmp_path, 0x236, 0))  # xloadflags
    assert b.rc == 1 and "has no 64-bit entry point" in b.err


def test_truncated_elf(isola, tmp_path):
    data = guest(isola, "hello").read_bytes()
    k = tmp_path / "cut.elf"
    k.write_bytes(data[:0x800])
    b = boot(isola, k)
    assert b.rc == 1
    assert "lies outside the file" in b.err or "is truncated" in b.err, b.err


def test_32bit_elf(isola, tmp_path):
    data = bytearray(guest(isola, "hello").read_bytes())
    data[4] = 1  # ELFCLASS32
    k = tmp_path / "k32.elf"
    k.write_bytes(data)
    b = boot(isola, k)
    assert b.rc == 1 and "is not a 64-bit little-endian image" in b.err


def test_initrd_too_large_for_the_memory_given(isola, tmp_path):
    big = tmp_path / "big.img"
    with open(big, "wb") as f:
        f.truncate(40 << 20)
    b = boot(isola, guest(isola, "verify", "bzimage"), "--memory", 32, "--initrd", big)
    assert b.rc == 1
    assert "initrd" in b.err and "is too large for the memory given" in b.err
    assert "raise --memory" in b.err


@pytest.mark.parametrize("form,limit", [("bzimage", 4095), ("pvh", 2047), ("elf64", 2047)])
def test_command_line_longer_than_the_kernel_accepts(isola, form, limit):
    b = boot(isola, guest(isola, "verify", form), "--cmdline", "x" * (limit + 1))
    assert b.rc == 1
    fmt = {"bzimage": "bzImage", "pvh": "PVH ELF", "elf64": "ELF"}[form]
    assert f"--cmdline is {limit + 1} bytes; this {fmt} accepts at most {limit}" in b.err
    b = boot(isola, guest(isola, "verify", form), "--cmdline", "x" * limit)
    assert b.rc == 0, b.err


@pytest.mark.parametrize("args,said", [
    (["--cpus", "0"], "--cpus must be a whole number from 1 to 254, not `0`"),
    (["--cpus", "255"], "--cpus must be a whole number from 1 to 254, not `255`"),
    (["--cpus", "two"], "--cpus must be a whole number from 1 to 254, not `two`"),
    (["--memory", "8"], "--memory must be a whole number from 16 to 1048576, not `8`"),
    (["--memory", "-1"], "--memory must be a whole number from 16 to 1048576, not `-1`"),
])
def test_bad_sizes(isola, args, said):
    p = vmm(isola, "--kernel", guest(isola, "hello"), *args)
    assert p.returncode == 2
    assert said in p.stderr


def test_missing_kernel_argument_and_file(isola, tmp_path):
    p = vmm(isola)
    assert p.returncode == 2 and "no guest kernel: pass --kernel PATH" in p.stderr
    p = vmm(isola, "--kernel", tmp_path / "nope")
    assert p.returncode == 1
    assert f"cannot open kernel `{tmp_path / 'nope'}`: No such file or directory" in p.stderr


def test_kernel_larger_than_memory(isola, tmp_path):
    # A PT_LOAD of 64 MiB of .bss cannot fit a 16 MiB guest.
    data = bytearray(guest(isola, "hello").read_bytes())
    phoff, = struct.unpack_from("<Q", data, 0x20)
    struct.pack_into("<Q", data, phoff + 40, 64 << 20)  # p_memsz of the first header
    k = tmp_path / "huge.elf"
    k.write_bytes(data)
    b = boot(isola, k, "--memory", 16)
    assert b.rc == 1
    assert "beyond the 16 MiB of guest memory; raise --memory" in b.err


def test_missing_dev_kvm(isola, tmp_path):
    # Hide /dev/kvm in a private mount namespace only.
    script = f"mount -t tmpfs none /dev && exec {isola.bin('isola-vmm')} --kernel {guest(isola, 'hello')}"
    p = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], timeout=30)
    assert p.returncode == 1
    assert "cannot open /dev/kvm: this host offers no KVM" in p.stderr


def test_unreadable_dev_kvm_says_how_to_get_access(isola):
    p = run(["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", isola.bin("isola-vmm"), "--kernel", guest(isola, "hello")],
            timeout=30)
    assert p.returncode == 1
    assert "cannot open /dev/kvm: run as root or join the group that owns it" in p.stderr

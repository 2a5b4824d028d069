"""Running isola-vmm in tests: the test guests built by Meson, a helper that
boots one and returns what its console and log said, and facts about the
host's KVM (PVM or hardware virtualization)."""
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# The bound on a stock Linux guest's boot, shutdown or command: seconds with
# VMX/SVM, minutes in the nested L1 of tests/nested (TCG under TCG) on a busy
# machine.  Every wait ends on its event, so a generous bound costs nothing
# when things work.
LINUX_TIMEOUT = 1200
GUEST_FORMS = {"pvh": "{}.elf", "elf64": "{}-64.elf", "bzimage": "{}.bzImage"}


def guest(build, name, form="pvh"):
    return build.dir / "guest" / "test" / GUEST_FORMS[form].format(name)


def host_has_vmx_or_svm():
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    return " vmx" in flags or " svm" in flags


def kvm_is_pvm():
    return os.path.isdir("/sys/module/kvm_pvm")


@dataclass
class Boot:
    rc: int
    out: str
    err: str

    def lines(self, prefix):
        return [line[len(prefix):].strip() for line in self.out.splitlines() if line.startswith(prefix)]


def boot(build, kernel, *args, stdin=subprocess.DEVNULL, timeout=60, input=None):
    """Run isola-vmm to the end; returns its status and output."""
    cmd = [str(build.bin("isola-vmm")), "--kernel", str(kernel)] + [str(a) for a in args]
    p = subprocess.run(cmd, stdin=None if input is not None else stdin, input=input,
                       capture_output=True, text=True, timeout=timeout, errors="replace")
    return Boot(p.returncode, p.stdout, p.stderr)


def start(build, kernel, *args, **kw):
    """Start isola-vmm in the background with pipes on its console."""
    cmd = [str(build.bin("isola-vmm")), "--kernel", str(kernel)] + [str(a) for a in args]
    kw.setdefault("stdin", subprocess.PIPE)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def read_until(proc, marker, timeout=60):
    """Read the console until `marker` appears; returns everything read."""
    import select
    buf = b""
    end = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while marker.encode() not in buf:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {marker!r} on the console; it said:\n{buf.decode(errors='replace')}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"console closed before {marker!r}; it said:\n{buf.decode(errors='replace')}")
            buf += chunk
    return buf.decode(errors="replace")


def stop(proc, sig=signal.SIGTERM, timeout=30):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def kvm_supported_cpuid(leaf, index=0):
    """(eax, ebx, ecx, edx) of KVM_GET_SUPPORTED_CPUID for `leaf`, or None."""
    import fcntl
    import struct
    KVM_GET_SUPPORTED_CPUID = 0xC008AE05  # _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
    nent = 256
    buf = bytearray(struct.pack("<II", nent, 0) + bytes(40 * nent))
    with open("/dev/kvm", "rb+", buffering=0) as kvm:
        fcntl.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, buf)
    n, = struct.unpack_from("<I", buf, 0)
    for i in range(n):
        fn, idx, _flags, a, b, c, d = struct.unpack_from("<7I", buf, 8 + 40 * i)
        if fn == leaf and idx == index:
            return a, b, c, d
    return None


def wait_for(pred, what, timeout=30):
    """Poll pred() until it holds; AssertionError(what) after timeout s."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(what)

"""Booting the nested harness's L1: QEMU in TCG mode (pure emulation, no
/dev/kvm needed) with an emulated AMD CPU that has SVM, Debian's stock
kernel, an initramfs whose /init is tests/nested/l1-init, the host's / as
L1's root (9p, read-only) and one writable host directory for the results.
No network: -nic none.

boot() runs QEMU to its end, writes L1's console to a log with the time of
every line, echoes it, and returns what l1-init said about each step."""
import ctypes
import os
import re
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field


@dataclass
class Machine:
    qemu: str
    kernel: str
    initrd: str
    out: str            # host directory L1 mounts writable at the same path
    run: str            # the program l1-init runs in L1's root, with `out`
    cpu: str = "max"
    smp: int = 1
    memory: str = "4G"
    kvm_amd: str = "npt=0"  # nested paging in L1's KVM hangs L2 kernels early
    alive: int = 60         # seconds between l1-init's heartbeats

    def argv(self):
        append = (f"console=ttyS0 panic=-1 quiet loglevel=3 l1.run={self.run} l1.out={self.out}"
                  f" l1.alive={self.alive}"
                  + (f" l1.kvm_amd={self.kvm_amd}" if self.kvm_amd else ""))
        return [self.qemu, "-accel", "tcg,thread=multi", "-cpu", self.cpu, "-smp", str(self.smp),
                "-m", self.memory, "-M", "q35", "-nodefaults", "-nic", "none", "-display", "none",
                "-no-reboot", "-monitor", "none", "-serial", "stdio",
                "-kernel", self.kernel, "-initrd", self.initrd, "-append", append,
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                           "multidevs=remap",
                "-virtfs", f"local,path={self.out},mount_tag=nestedout,security_model=none"]


@dataclass
class Result:
    rc: int | None = None          # QEMU's exit status
    timed_out: bool = False        # killed at the deadline
    stalled: bool = False          # killed: nothing on the console for `stall` s
    seconds: float = 0.0           # QEMU's wall time
    ready: float | None = None     # when l1-init said ISOLA-L1-READY
    status: int | None = None      # the run's exit status (ISOLA-L1-STATUS)
    errors: list = field(default_factory=list)   # ISOLA-L1-ERROR lines
    tail: list = field(default_factory=list)     # the last lines of the console


def _die_with_parent():
    """In QEMU's child before exec: SIGKILL it when its parent (we) dies,
    however we die."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def boot(machine, log_path, timeout, stall, echo=print):
    """Run L1 until QEMU exits, `timeout` seconds pass, or its console says
    nothing, not even a heartbeat, for `stall` seconds (then kill it)."""
    res = Result()
    t0 = time.monotonic()
    p = subprocess.Popen(machine.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
        _watch(p, res, t0, log_path, timeout, stall, echo)
    finally:
        if p.poll() is None:
            p.kill()
        res.rc = p.wait()
        p.stdout.close()
    res.seconds = time.monotonic() - t0
    return res


def _watch(p, res, t0, log_path, timeout, stall, echo):
    """Log and echo QEMU's console, noting what l1-init says, until it
    closes, the deadline passes or it stalls (then kill QEMU)."""
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf = b""
    with open(log_path, "w") as log:
        def line(raw):
            t = time.monotonic() - t0
            text = raw.decode(errors="replace").rstrip("\r")
            stamped = f"[{t:8.2f}] {text}"
            log.write(stamped + "\n")
            log.flush()
            if text != "ISOLA-L1-ALIVE":
                echo(stamped)
            res.tail = (res.tail + [text])[-30:]
            if text.startswith("ISOLA-L1-READY"):
                res.ready = t
            elif m := re.match(r"ISOLA-L1-STATUS (\d+)", text):
                res.status = int(m.group(1))
            elif text.startswith("ISOLA-L1-ERROR: "):
                res.errors.append(text[len("ISOLA-L1-ERROR: "):])

        heard = time.monotonic()
        while True:
            now = time.monotonic()
            left = min(t0 + timeout - now, heard + stall - now)
            if left <= 0:
                res.timed_out = now >= t0 + timeout
                res.stalled = not res.timed_out
                p.kill()
                break
            if not sel.select(left):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            heard = time.monotonic()
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line(raw)
        if buf:
            line(buf)
    sel.close()

"""`isola run --vm` (issue #7): the container's image, flags and semantics in
a microVM.  On this PVM host a Linux guest cannot boot (PLATFORM.md), so
the engine's whole path is tested against isola-init's agent run as a host
process (ISOLA_VM_AGENT=unix:PATH: same protocol, same frames, no VMM), the
VMM launch with a test guest that exits without an agent, and the full boot
where there is VMX/SVM (`hardware_kvm`: in a nested L1 here, tests/nested/run)."""
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import leaks
from harness.engine import Engine, import_busybox
from harness.fixtures import TOP
from harness.vmm import LINUX_TIMEOUT


@pytest.fixture
def veng(isola, state_root, busybox_rootfs, agent, tmp_path, monkeypatch):
    monkeypatch.setenv("ISOLA_VM_AGENT", f"unix:{agent}")
    kernel = tmp_path / "kernel"
    kernel.write_bytes(b"not booted: the agent runs on the host\n")
    e = Engine(isola, state_root)
    e.kernel = kernel
    import_busybox(e, busybox_rootfs)
    yield e
    e("rm", "-f", "-a", timeout=120)
    assert e.leftovers() == []


def test_vm_run_stdio_exit_code_and_plan(veng):
    r = veng("run", "--vm", "--vm-cpus", "2", "--vm-memory", "256m", "--kernel", veng.kernel, "--name", "vm1",
             "-e", "GREETING=hi", "busybox", "sh", "-c", 'echo $GREETING from the agent; echo oops >&2; exit 7')
    assert r.returncode == 7, r.stderr
    assert r.stdout == "hi from the agent\n" and "oops" in r.stderr
    assert veng.ok("logs", "vm1").stdout == "hi from the agent\n"
    cid = veng.inspect("vm1")["Id"]
    plan = json.loads((veng.containers_dir() / cid / "vm.json").read_text())
    argv = plan["vmm"]
    assert argv[0].endswith("isola-vmm")
    assert argv[argv.index("--cpus") + 1] == "2" and argv[argv.index("--memory") + 1] == "256"
    disks = [argv[i + 1] for i, a in enumerate(argv) if a == "--disk"]
    assert disks[0].endswith(".ext4,ro") and disks[1].endswith("overlay.img")
    assert "isola.root=/dev/vda" in argv[argv.index("--cmdline") + 1]
    assert "isola.overlay=/dev/vdb" in argv[argv.index("--cmdline") + 1]
    assert argv[argv.index("--vsock") + 1].startswith("cid=3,uds=")
    assert plan["exec"]["args"] == ["sh", "-c", 'echo $GREETING from the agent; echo oops >&2; exit 7']
    assert "GREETING=hi" in plan["exec"]["env"]
    # the initramfs holds isola-init as /init
    cpio = subprocess.run(["cpio", "-t"], stdin=open(veng.containers_dir() / cid / "initrd.cpio", "rb"),
                          capture_output=True, text=True).stdout.split()
    assert "init" in cpio and "lib/modules" in cpio
    # the image disk is an ext4 image of the busybox tree
    info = subprocess.run(["debugfs", "-R", "ls -l /bin", disks[0][:-3]], capture_output=True, text=True)
    assert "busybox" in info.stdout


def test_vm_user_stdin_exec_stop(veng):
    r = veng("run", "--rm", "--vm", "--kernel", veng.kernel, "-u", "nobody", "busybox", "id", "-u")
    assert r.stdout.strip() == "65534"
    r = veng("run", "--rm", "-i", "--vm", "--kernel", veng.kernel, "busybox", "tr", "a-z", "A-Z", input="to the vm\n")
    assert r.stdout == "TO THE VM\n"
    veng.ok("run", "-d", "--vm", "--kernel", veng.kernel, "--name", "svc", "busybox", "sleep", "1000")
    assert veng.state("svc")["Status"] == "running"
    r = veng("exec", "-e", "X=1", "svc", "sh", "-c", "echo exec $X; exit 3")
    assert r.returncode == 3 and r.stdout == "exec 1\n"
    assert veng("exec", "svc", "/nonexistent").returncode == 127
    t = time.time()
    veng.ok("stop", "-t", "10", "svc")
    assert time.time() - t < 5
    assert veng.state("svc")["ExitCode"] == 143
    r = veng("run", "--rm", "--vm", "--kernel", veng.kernel, "busybox", "/nonexistent")
    assert r.returncode == 127


def test_vm_command_that_leaves_its_stdin_unread(veng):
    """The engine's clients (`run -i` through the monitor, `exec -i`) stream
    more stdin than the sockets hold to a command that exits without
    reading it: the exit code and output still arrive."""
    big = "x" * (8 << 20)
    r = veng("run", "--rm", "-i", "--vm", "--kernel", veng.kernel, "busybox", "sh", "-c", "echo done; exit 3",
             input=big)
    assert (r.returncode, r.stdout) == (3, "done\n"), r.stderr
    veng.ok("run", "-d", "--vm", "--kernel", veng.kernel, "--name", "svc", "busybox", "sleep", "1000")
    r = veng("exec", "-i", "svc", "sh", "-c", "echo done; exit 4", input=big)
    assert (r.returncode, r.stdout) == (4, "done\n"), r.stderr


def test_vm_flag_errors(isola, state_root, busybox_rootfs, monkeypatch, tmp_path):
    e = Engine(isola, state_root)
    import_busybox(e, busybox_rootfs)
    r = e("run", "--vm-cpus", "2", "busybox", "true")
    assert r.returncode == 125 and "--vm" in r.stderr
    r = e("run", "--vm", "--vm-memory", "1m", "busybox", "true")
    assert r.returncode == 125 and "64m" in r.stderr
    r = e("run", "--rm", "--vm", "--kernel", tmp_path / "absent", "busybox", "true")
    assert r.returncode == 125 and "absent" in r.stderr
    assert e.leftovers() == []


def test_vm_launches_the_vmm(isola, busybox_rootfs, monkeypatch):
    """A real isola-vmm boots the `hello` test guest in place of Linux: it
    prints and powers off with no agent, which the engine reports with the
    guest's console, and nothing is left running."""
    monkeypatch.delenv("ISOLA_VM_AGENT", raising=False)
    root = Path(tempfile.mkdtemp(prefix="isola-vm-", dir="/tmp"))
    e = Engine(isola, root)
    import_busybox(e, busybox_rootfs)
    try:
        r = e("run", "--name", "novm", "--vm", "--kernel", isola.dir / "guest/test/hello.elf", "busybox", "true")
        assert r.returncode == 125 and "exited before its agent answered" in r.stderr
        cid = e.inspect("novm")["Id"]
        console = (e.containers_dir() / cid / "console.log").read_text()
        assert "hello" in console.lower()
        # none running (a zombie that this host's init has not reaped holds nothing)
        assert [p for p in subprocess.run(["pgrep", "-x", "isola-vmm"], capture_output=True,
                                          text=True).stdout.split() if not leaks._is_zombie(p)] == []
        e.ok("rm", "novm")
        assert e.leftovers() == []
    finally:
        e.close()
        subprocess.run(["rm", "-rf", root])


@pytest.mark.hardware_kvm
def test_vm_boots_linux_and_runs_the_image(isola, busybox_rootfs, monkeypatch):
    monkeypatch.delenv("ISOLA_VM_AGENT", raising=False)
    kdir = subprocess.run([TOP / "guest/kernel/fetch-debian"], capture_output=True, text=True, check=True,
                          timeout=600).stdout.strip()
    root = Path(tempfile.mkdtemp(prefix="isola-vm-", dir="/tmp"))
    e = Engine(isola, root)
    import_busybox(e, busybox_rootfs)
    try:
        kernel = Path(kdir) / "bzImage"
        r = e("run", "--rm", "--vm", "--kernel", kernel, "busybox", "sh", "-c",
              "echo in the vm; touch /written; cat /proc/cmdline; exit 5", timeout=LINUX_TIMEOUT)
        assert r.returncode == 5 and r.stdout.startswith("in the vm\n"), r.stderr
        e.ok("run", "-d", "--vm", "--kernel", kernel, "--name", "lx", "busybox", "sleep", "1000",
             timeout=LINUX_TIMEOUT)
        assert e.ok("exec", "lx", "uname", "-s").stdout == "Linux\n"
        e.ok("stop", "lx")
        e.ok("rm", "lx")
        assert e.leftovers() == []
    finally:
        e.close()
        subprocess.run(["rm", "-rf", root])


def test_vm_monitor_killed(veng):
    """A --vm container whose monitor is killed: its status comes from the
    VMM's process (none here: the agent stands in), and rm cleans up."""
    veng.ok("run", "-d", "--vm", "--kernel", veng.kernel, "--name", "orphan", "busybox", "sleep", "1000")
    st = veng.state("orphan")
    os.kill(st["MonitorPid"], 9)
    time.sleep(0.2)
    assert veng.state("orphan")["Status"] == "exited"
    veng.ok("rm", "-f", "orphan")
    assert veng.leftovers() == []

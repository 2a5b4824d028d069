"""The serial console is isola-vmm's stdin/stdout: input reaches the guest
by interrupt, Ctrl-Alt-Del arrives on the keyboard IRQ, the terminal is in
raw mode while the guest runs and restored on every way out (issue #4)."""
import os
import pty
import select
import signal
import subprocess
import termios
import time

import pytest

from harness.vmm import guest, read_until, start, stop


def test_interrupts_console_input_and_ctrl_alt_del(isola):
    p = start(isola, guest(isola, "irq"), "--cpus", 2)
    try:
        out = read_until(p, "irq: ready for input", timeout=30)
        assert "irq: pit ticks" in out and "irq: serial transmit-empty interrupts" in out
        p.stdin.write(b"ping from the host\n")
        p.stdin.flush()
        out += read_until(p, "irq: waiting for ctrl-alt-del", timeout=30)
        assert "irq: got line 'ping from the host'" in out
        p.send_signal(signal.SIGUSR1)
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rest = rest.decode()
    assert "scancodes 1d 38 e0 53 e0 d3 b8 9d" in rest
    assert "isola-test: PASS" in rest and p.returncode == 0, rest + err.decode()


def test_sigterm_stops_the_vm_with_128_plus_signal(isola):
    p = start(isola, guest(isola, "irq"))
    read_until(p, "irq: ready for input", timeout=30)
    rc, _, err = stop(p, signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM
    assert "stopping the VM on signal 15" in err


def _run_on_pty(args, before_exit):
    """Run a command with a pty as stdin/stdout; returns (termios before,
    termios while running, termios after, status)."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    buf = b""
    end = time.monotonic() + 30
    while b"isola-test: irq" not in buf and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            buf += os.read(master, 4096)
    during = termios.tcgetattr(slave)
    before_exit(p, master)
    p.wait(timeout=30)
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    return before, during, after, p.returncode


@pytest.mark.parametrize("ending", ["sigterm", "sigkill-of-a-crash", "guest-poweroff"])
def test_terminal_is_raw_while_running_and_restored_after(isola, ending):
    args = [isola.bin("isola-vmm"), "--kernel", guest(isola, "irq")]

    def end(p, master):
        if ending == "sigterm":
            p.send_signal(signal.SIGTERM)
        elif ending == "sigkill-of-a-crash":
            p.send_signal(signal.SIGSEGV)  # the fatal-signal path
        else:
            time.sleep(0.5)
            os.write(master, b"x\r")
            time.sleep(0.5)
            p.send_signal(signal.SIGUSR1)

    before, during, after, rc = _run_on_pty(args, end)
    lflag = 3
    assert during[lflag] & termios.ICANON == 0 and during[lflag] & termios.ECHO == 0
    assert after == before
    if ending == "sigterm":
        assert rc == 128 + signal.SIGTERM
    elif ending == "guest-poweroff":
        assert rc == 0
    else:
        assert rc == -signal.SIGSEGV


def test_no_threads_or_fds_beyond_the_vcpus(isola):
    p = start(isola, guest(isola, "irq"), "--cpus", 3)
    try:
        read_until(p, "irq: ready for input", timeout=30)
        threads = []
        for t in os.listdir(f"/proc/{p.pid}/task"):
            with open(f"/proc/{p.pid}/task/{t}/comm") as f:
                threads.append(f.read().strip())
        fds = {os.readlink(f"/proc/{p.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{p.pid}/fd")}
    finally:
        stop(p)
    # The main loop and one thread per vCPU; KVM may add its own worker
    # (kvm-nx-lpage-recovery), which is the kernel's, not ours.
    assert sorted(t for t in threads if not t.startswith("kvm-")) == ["isola-vmm"] * 4, threads
    # stdio, /dev/kvm, the VM, 3 vCPUs, an eventfd and a signalfd; nothing else.
    kinds = sorted(f.split(":")[0] if ":" in f else f for f in fds)
    assert "/dev/kvm" in fds
    assert all(k in ("/dev/kvm", "anon_inode", "pipe", "/dev/null") for k in kinds), fds


def test_a_console_nobody_reads_does_not_stop_sigterm(isola):
    # The guest prints into a pipe nobody drains; once it is full the vCPU
    # blocks in write(), and SIGTERM must still end the VM promptly.
    r, w = os.pipe()
    os.set_blocking(w, True)
    p = subprocess.Popen([str(isola.bin("isola-vmm")), "--kernel", str(guest(isola, "smp")),
                          "--cpus", "2"], stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    try:
        fcntl_size = 4096  # shrink the pipe so the small guest fills it
        import fcntl
        fcntl.fcntl(r, 1031, fcntl_size)  # F_SETPIPE_SZ
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
    finally:
        os.close(r)
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode in (0, 128 + signal.SIGTERM), err

"""isola-vmm's per-thread seccomp filters (issue #9): a vCPU, device-loop or
API thread that makes a system call outside its allow-list kills the VMM
with SIGSYS; --no-seccomp turns the filters off.  The forbidden call is
unshare(0), made by the thread itself through the ISOLA_VMM_SECCOMP_SELFTEST
hook once its filter is loaded."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from harness.vmm import guest


def start(isola, tmp_path, kind, *extra):
    sock = tmp_path / "api.sock"
    env = dict(os.environ, ISOLA_VMM_SECCOMP_SELFTEST=kind)
    p = subprocess.Popen([isola.bin("isola-vmm"), "--kernel", guest(isola, "count"), "--memory", "32", "--rng",
                          "--api-sock", sock, *extra], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if sock.exists() or p.poll() is not None:
            break
        time.sleep(0.02)
    if kind == "api" and sock.exists():
        # the API thread takes its filter at its first connection
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(sock))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.settimeout(5)
            s.recv(4096)
        except OSError:
            pass
        s.close()
    return p


@pytest.mark.parametrize("kind", ["vcpu", "device", "api"])
def test_seccomp_kills_a_thread_making_a_forbidden_call(isola, tmp_path, kind):
    p = start(isola, tmp_path, kind)
    try:
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == -signal.SIGSYS, (rc, p.stderr.read())
    assert f"the {kind} thread calls unshare(0)" in p.stderr.read()


def test_no_seccomp_lets_the_call_through(isola, tmp_path):
    p = start(isola, tmp_path, "vcpu", "--no-seccomp")
    time.sleep(1)
    assert p.poll() is None
    p.terminate()
    assert p.wait(timeout=20) == 128 + signal.SIGTERM
    assert "unshare(0) was not stopped" in p.stderr.read()

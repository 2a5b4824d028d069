"""The nested harness (tests/nested/run) that runs the hardware_kvm tests in
an L1 with SVM on a host without VMX/SVM: when L1 cannot run them it fails
and says why, never skips.  (Its success is make check's `e2e vmx/svm` row.)"""
import os
import subprocess

import pytest

from harness import leaks
from harness.fixtures import TOP
from harness.vmm import wait_for

pytestmark = [pytest.mark.slow]
RUN = TOP / "tests" / "nested" / "run"


def nested(tmp_path, *args, **env):
    e = dict(os.environ, ISOLA_NESTED="always", **env)
    return subprocess.run([RUN, "--work", tmp_path / "work", *args], env=e, capture_output=True,
                          text=True, timeout=1200, stdin=subprocess.DEVNULL)


def test_without_qemu_it_fails_naming_the_package(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    p = nested(tmp_path, "--command", "true", PATH=str(empty))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "nested: FAILED: qemu-system-x86_64 is not on PATH" in p.stdout
    assert "install qemu-system-x86" in p.stdout


def test_an_l1_cpu_without_svm_fails_saying_l1_has_no_kvm(tmp_path):
    # an AMD CPU without SVM: kvm_amd refuses to load
    p = nested(tmp_path, "--command", "true", ISOLA_NESTED_CPU="qemu64,-svm")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "nested: FAILED: L1 has no /dev/kvm: kvm_amd did not load" in p.stdout, p.stdout
    assert "ISOLA-L1-STATUS" not in p.stdout  # nothing ran in L1
    assert (tmp_path / "work" / "console.log").exists()


def test_an_l1_that_does_not_finish_in_time_is_stopped_and_fails(tmp_path):
    p = nested(tmp_path, "--command", "true", ISOLA_NESTED_TIMEOUT="2")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "nested: FAILED: L1 did not finish in time (ISOLA_NESTED_TIMEOUT); stopped it" in p.stdout


def test_an_l1_whose_console_stays_silent_counts_as_hung_and_is_stopped(tmp_path):
    # L1's kernel boots quietly for longer than this; a hung L1 is as silent
    p = nested(tmp_path, "--command", "true", ISOLA_NESTED_STALL="2")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "nested: FAILED: L1 stopped responding: nothing on its console" in p.stdout


def test_a_failing_command_in_l1_is_its_exit_status(tmp_path):
    p = nested(tmp_path, "--command", "/bin/sh", "-c", "test -c /dev/kvm && exit 7")
    assert p.returncode == 7, p.stdout + p.stderr
    assert "ISOLA-L1-STATUS 7" in p.stdout


def test_l1_sees_the_hosts_files_under_tmp(tmp_path):
    """A checkout or build directory under /tmp (CI's clones may be there)
    must be visible in L1, as the rest of the host's / is."""
    mark = tmp_path / "host-file"
    mark.write_text("from the host\n")
    p = nested(tmp_path, "--command", "/bin/sh", "-c", f'test "$(cat {mark})" = "from the host"')
    assert p.returncode == 0, p.stdout + p.stderr


def test_l1_ends_with_the_harness_however_it_is_killed(tmp_path):
    """A QEMU left behind would emulate on, eating a CPU, for good."""
    e = dict(os.environ, ISOLA_NESTED="always")
    log = tmp_path / "harness.log"
    with open(log, "w") as out:
        h = subprocess.Popen([RUN, "--work", tmp_path / "work", "--command", "/bin/sh", "-c", "sleep 3600"],
                             env=e, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        console = tmp_path / "work" / "console.log"
        # L1 boots in seconds; the wait ends early if the harness has already
        # ended (then the command did not start: its output says why)
        wait_for(lambda: h.poll() is not None or
                 (console.exists() and "ISOLA-L1: running" in console.read_text()),
                 "L1 running its command", timeout=240)
        assert h.poll() is None, "the harness ended before L1 ran its command:\n" + log.read_text()
        qemu = [pid for pid in os.listdir("/proc") if pid.isdigit() and _ppid(pid) == h.pid]
        assert len(qemu) == 1
    finally:
        h.kill()
        h.wait()
    wait_for(lambda: not os.path.exists(f"/proc/{qemu[0]}") or leaks._is_zombie(qemu[0]),
             "QEMU gone with the harness", timeout=60)


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None

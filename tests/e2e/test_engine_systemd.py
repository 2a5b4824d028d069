"""System containers (issue #19): `isola run --systemd` boots a Debian 12
image's systemd as PID 1 to `running`, gives it what systemd expects of a
container manager, shows its console in `isola logs` and shuts it down
cleanly on `isola stop` (SIGRTMIN+3)."""
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.engine import Engine

IMAGE = "localhost/debian-systemd:12"


@pytest.fixture(scope="module")
def debian_systemd():
    """Debian 12 (debootstrap minbase + systemd, systemd-sysv, dbus), built
    once and cached."""
    r = subprocess.run([Path(__file__).parent / "images/debian-systemd"], capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


@pytest.fixture
def eng(isola, state_root, debian_systemd):
    e = Engine(isola, state_root)
    e.ok("import", debian_systemd, IMAGE, timeout=300)
    yield e
    r = e("rm", "-f", "-a", timeout=120)
    assert e.leftovers() == [], f"isola rm -f -a: rc={r.returncode}\n{r.stderr}\n{e.describe_leftovers()}"


def wait_booted(eng, name, timeout=180):
    """systemctl is-system-running once the boot is over: `running`, or
    `degraded` with the failed units named."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        if eng.state(name)["Status"] != "running":
            raise AssertionError(f"{name} exited during boot: {eng.state(name)}\n{eng('logs', name).stdout[-3000:]}")
        last = eng("exec", name, "systemctl", "is-system-running")
        state = last.stdout.strip()
        if state not in ("", "offline", "initializing", "starting"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"{name}: boot not over: {last.stdout}{last.stderr}")


def test_systemd_boots_to_running_and_stops_cleanly(eng):
    cid = eng.ok("run", "-d", "--name", "sd", "--network", "none", "--systemd", IMAGE, "/sbin/init").stdout.strip()
    state = wait_booted(eng, "sd")
    failed = eng("exec", "sd", "systemctl", "--failed", "--no-legend", "--no-pager").stdout
    # `running` and nothing failed: every unit of a minbase system starts
    # in an isola container (`degraded` would hide what broke)
    assert state == "running" and failed.strip() == "", f"{state}\nfailed units:\n{failed}"

    # what systemd expects of its container manager
    env = eng.ok("exec", "sd", "cat", "/proc/1/environ").stdout.split("\0")
    assert "container=isola" in env and f"container_uuid={cid[:32]}" in env
    assert eng.ok("exec", "sd", "systemd-detect-virt", "--container").stdout.strip() == "container-other"
    assert eng.ok("exec", "sd", "cat", "/etc/machine-id").stdout.strip() == cid[:32]
    mounts = {}
    for line in eng.ok("exec", "sd", "cat", "/proc/1/mountinfo").stdout.splitlines():
        fields = line.split()
        sep = fields.index("-")
        mounts[fields[4]] = (fields[5].split(","), fields[sep + 1])
    for point in ("/run", "/run/lock", "/tmp", "/dev/shm"):
        assert mounts[point][1] == "tmpfs", (point, mounts.get(point))
    assert "rw" in mounts["/sys/fs/cgroup/systemd"][0]
    # systemd moved itself into init.scope of its own cgroup tree
    own = eng.ok("exec", "sd", "cat", "/proc/1/cgroup").stdout
    assert "name=systemd:/init.scope" in own, own
    if "/sys/fs/cgroup/memory" in mounts:
        # cgroup v1 controllers stay read-only: the container cannot raise its limits
        assert "ro" in mounts["/sys/fs/cgroup/memory"][0]
    # services run: D-Bus answers
    assert eng.ok("exec", "sd", "busctl", "--system", "--no-pager", "status").returncode == 0

    logs = eng.ok("logs", "sd").stdout
    assert "Welcome to \x1b[1mDebian GNU/Linux 12 (bookworm)" in logs or "Welcome to Debian GNU/Linux 12" in logs
    assert "Reached target" in logs and "Multi-User System" in logs

    # SIGRTMIN+3 is systemd's clean shutdown: exit 0, never the SIGKILL
    # after the stop timeout (that would be 137)
    eng.ok("stop", "-t", "120", "sd", timeout=180)
    st = eng.state("sd")
    assert st["Status"] == "exited" and st["ExitCode"] == 0, st
    eng.ok("rm", "sd")
    assert eng.leftovers() == []


def test_each_system_container_has_its_own_machine_id(eng):
    a = eng.ok("run", "-d", "--network", "none", "--systemd=true", IMAGE, "/sbin/init").stdout.strip()
    b = eng.ok("run", "-d", "--network", "none", "--systemd=true", IMAGE, "/sbin/init").stdout.strip()
    assert wait_booted(eng, a) == "running" and wait_booted(eng, b) == "running"
    ids = [eng.ok("exec", c, "cat", "/etc/machine-id").stdout.strip() for c in (a, b)]
    assert ids == [a[:32], b[:32]]
    # a restart keeps it
    eng.ok("restart", "-t", "120", a, timeout=180)
    assert wait_booted(eng, a) == "running"
    assert eng.ok("exec", a, "cat", "/etc/machine-id").stdout.strip() == a[:32]


def test_podman_systemd_mode_through_isola_runtime(isola, debian_systemd):
    """The reference: Podman's own --systemd=always (cgroup v1 layout: the
    host's name=systemd bound, no cgroup namespace, tmpcopyup tmpfs mounts)
    boots the same tarball through isola-runtime."""
    tmp = Path(tempfile.mkdtemp(prefix="sdpod-"))  # podman wants a runroot under 50 characters
    base = ["podman", "--root", str(tmp / "root"), "--runroot", str(tmp / "run"),
            "--runtime", str(isola.bin("isola-runtime")), "--cgroup-manager=cgroupfs", "--events-backend=file"]

    def podman(*args, timeout=120):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=timeout)

    assert podman("import", debian_systemd, IMAGE, timeout=300).returncode == 0
    name = "isola-t-sd"
    try:
        r = podman("run", "-d", "--name", name, "--network", "none", "--systemd=always",
                   "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "/sbin/init")
        assert r.returncode == 0, r.stderr
        end = time.time() + 180
        state = ""
        while time.time() < end and state in ("", "offline", "initializing", "starting"):
            st = podman("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
            assert st == "running", f"podman's container exited: {st}\n{podman('logs', name).stdout}"
            state = podman("exec", name, "systemctl", "is-system-running").stdout.strip()
            time.sleep(0.2)
        assert state == "running", podman("exec", name, "systemctl", "--failed", "--no-pager").stdout
        assert podman("stop", "-t", "120", name, timeout=180).returncode == 0
        assert podman("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        podman("rm", "-f", "-t", "0", name)
        podman("rmi", "-a", "-f")
        subprocess.run(["rm", "-rf", str(tmp)])

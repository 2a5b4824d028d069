"""Real engines drive isola-runtime unchanged: Podman (through conmon) and
containerd (through its runc shim), as ../shared/PLATFORM.md describes."""
import os
import subprocess
import tarfile
import time
import uuid

import pytest

from harness.fixtures import run

IMAGE = "localhost/isola-busybox:test"
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

@pytest.fixture(scope="session")
def podman_image(busybox_rootfs, tmp_path_factory):
    tar = tmp_path_factory.mktemp("img") / "busybox.tar"
    with tarfile.open(tar, "w") as t:
        t.add(busybox_rootfs, arcname=".")
    run(["podman", "import", "--change", "ENV PATH=/bin", tar, IMAGE], check=True, timeout=120)
    return IMAGE


@pytest.fixture
def podman(isola, podman_image):
    base = ["podman", "--runtime", str(isola.bin("isola-runtime")), "--cgroup-manager=cgroupfs",
            "--events-backend=file"]
    names = []

    def call(*args, timeout=60, **kw):
        return run(base + list(args), timeout=timeout, **kw)

    def name():
        n = "isola-t-" + uuid.uuid4().hex[:8]
        names.append(n)
        return n

    call.name = name
    yield call
    for n in names:
        call("rm", "-f", "-t", "0", n)


def test_podman_run_prints_and_returns_the_exit_code(podman):
    r = podman("run", "--rm", "--network", "none", *ULIMITS, IMAGE, "sh", "-c",
               "echo hello from podman; exit 4")
    assert r.returncode == 4, r.stderr
    assert r.stdout.strip() == "hello from podman"


def test_podman_run_with_tty(podman):
    r = podman("run", "--rm", "-t", "--network", "none", *ULIMITS, IMAGE, "tty")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("/dev/pts/")


def test_podman_detached_exec_stop_rm(podman):
    n = podman.name()
    r = podman("run", "-d", "--name", n, "--network", "none", *ULIMITS, IMAGE, "sleep", "100")
    assert r.returncode == 0, r.stderr
    r = podman("exec", n, "sh", "-c", "echo in $(hostname); exit 6")
    assert r.returncode == 6 and r.stdout.startswith("in "), r.stderr
    r = podman("exec", "-t", n, "tty")
    assert r.returncode == 0 and "/dev/pts/" in r.stdout, r.stderr
    r = podman("exec", n, "no-such-program")
    assert r.returncode == 127
    assert podman("pause", n).returncode == 0
    assert "paused" in podman("inspect", "--format", "{{.State.Status}}", n).stdout
    assert podman("unpause", n).returncode == 0
    assert podman("top", n).returncode == 0
    assert podman("stop", "-t", "1", n).returncode == 0
    assert podman("rm", n).returncode == 0


def test_podman_missing_command_is_127(podman):
    r = podman("run", "--rm", "--network", "none", *ULIMITS, IMAGE, "no-such-program")
    assert r.returncode == 127
    assert "not found" in r.stderr


def test_podman_memory_and_pids_limits_reach_the_cgroup(podman):
    r = podman("run", "--rm", "--network", "none", "--memory", "64m", "--pids-limit", "50",
               *ULIMITS, IMAGE, "sh", "-c",
               "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(64 * 1024 * 1024), "50"]


@pytest.fixture(scope="session")
def containerd(tmp_path_factory, podman_image):
    d = tmp_path_factory.mktemp("containerd")
    sock = d / "ctd.sock"
    cfg = d / "config.toml"
    cfg.write_text(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                   f'[grpc]\n  address = "{sock}"\n')
    log = open(d / "containerd.log", "w")
    proc = subprocess.Popen(["containerd", "--config", str(cfg)], stdout=log, stderr=log)
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.1)
    archive = d / "image.tar"
    run(["podman", "save", "--format", "oci-archive", "-o", archive, podman_image], check=True,
        timeout=120)
    run(["ctr", "--address", sock, "image", "import", "--base-name", "localhost/isola-busybox",
         archive], check=True, timeout=120)
    yield sock
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture
def ctr(isola, containerd):
    base = ["ctr", "--address", str(containerd)]
    made = []

    def call(*args, timeout=60, **kw):
        return run(base + list(args), timeout=timeout, **kw)

    def name():
        n = "isola-t-" + uuid.uuid4().hex[:8]
        made.append(n)
        return n

    call.name = name
    call.runtime = str(isola.bin("isola-runtime"))
    call.sock = str(containerd)
    yield call
    for n in made:
        call("task", "kill", "-s", "SIGKILL", n)
        for _ in range(50):
            if call("task", "rm", n).returncode != 0:
                break
            time.sleep(0.1)
        call("container", "rm", n)


def test_ctr_run_prints_and_returns_the_exit_code(ctr):
    n = ctr.name()
    r = ctr("run", "--rm", "--runc-binary", ctr.runtime, IMAGE, n, "sh", "-c", "echo hi ctr; exit 3")
    assert r.stdout.strip() == "hi ctr", r.stderr
    assert r.returncode == 3


def test_ctr_detached_task_exec_kill(ctr):
    n = ctr.name()
    r = ctr("run", "-d", "--runc-binary", ctr.runtime, IMAGE, n, "sleep", "100")
    assert r.returncode == 0, r.stderr
    r = ctr("task", "exec", "--exec-id", "e1", n, "sh", "-c", "echo exec ok")
    assert r.returncode == 0 and r.stdout.strip() == "exec ok", r.stderr
    assert "RUNNING" in ctr("task", "ls").stdout
    assert ctr("task", "pause", n).returncode == 0
    assert "PAUSED" in ctr("task", "ls").stdout
    assert ctr("task", "resume", n).returncode == 0
    assert ctr("task", "kill", "-s", "SIGKILL", n).returncode == 0


def test_ctr_run_with_a_terminal(ctr):
    # ctr wants a terminal on its own stdin: script(1) gives it one.
    n = ctr.name()
    line = " ".join(["ctr", "--address", ctr.sock, "run", "--rm", "-t", "--runc-binary",
                     ctr.runtime, IMAGE, n, "tty"])
    r = run(["script", "-qec", line, "/dev/null"], timeout=60, stdin=subprocess.DEVNULL)
    assert "/dev/pts/" in r.stdout, r.stdout + r.stderr

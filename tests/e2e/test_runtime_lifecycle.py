"""isola-runtime: the OCI lifecycle on busybox bundles (runtime.md
"Operations"), as engines call it."""
import json
import os
import signal
import time

import pytest

from harness.fixtures import run


def wait_status(runtime, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = runtime.state(cid)["status"]
        if st == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"{cid} is {st}, wanted {want}")


def test_run_prints_output_and_returns_the_exit_status(runtime, bundle):
    bundle.args("sh", "-c", "echo hello from $(hostname); exit 3")
    r = runtime("run", bundle.id, cwd=bundle.path)
    assert r.returncode == 3, r.stderr
    assert r.stdout.strip() == "hello from isola"
    # a foreground run deletes the container after it exits
    assert runtime("state", bundle.id).returncode != 0


def test_create_start_state_kill_delete(runtime, bundle, tmp_path):
    bundle.args("sleep", "100")
    pidfile = tmp_path / "pid"
    runtime.ok("create", "--bundle", bundle.path, "--pid-file", pidfile, bundle.id)
    st = runtime.state(bundle.id)
    assert st["status"] == "created"
    assert st["pid"] == int(pidfile.read_text())
    assert st["bundle"] == str(bundle.path)
    assert st["ociVersion"].startswith("1.")
    for key in ("rootfs", "created", "owner"):
        assert key in st
    runtime.ok("start", bundle.id)
    assert runtime.state(bundle.id)["status"] == "running"
    r = runtime("delete", bundle.id)
    assert r.returncode != 0 and "use --force" in r.stderr
    runtime.ok("kill", bundle.id, "KILL")
    wait_status(runtime, bundle.id, "stopped")
    runtime.ok("delete", bundle.id)
    assert runtime("state", bundle.id).returncode != 0


def test_start_twice_is_refused(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("create", "--bundle", bundle.path, bundle.id)
    runtime.ok("start", bundle.id)
    r = runtime("start", bundle.id)
    assert r.returncode != 0 and "not created" in r.stderr


def test_kill_takes_signal_names_and_numbers(runtime, bundle):
    bundle.args("sh", "-c", "trap 'exit 0' USR1; while true; do sleep 0.1; done")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    runtime.ok("kill", bundle.id, "SIGUSR1")
    wait_status(runtime, bundle.id, "stopped")
    r = runtime("kill", bundle.id, "NOPE")
    assert r.returncode != 0


def test_kill_all_signals_every_process(runtime, bundle):
    bundle.args("sh", "-c", "sleep 100 & sleep 100 & wait")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    time.sleep(0.3)
    pids = json.loads(runtime.ok("ps", "--format", "json", bundle.id).stdout)
    assert len(pids) == 3
    runtime.ok("kill", "--all", bundle.id, "9")
    wait_status(runtime, bundle.id, "stopped")
    for p in pids:
        assert not os.path.exists(f"/proc/{p}/cmdline") or open(f"/proc/{p}/stat").read().split()[2] == "Z"


def test_delete_force_removes_a_running_container(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    runtime.ok("delete", "--force", bundle.id)
    assert runtime("state", bundle.id).returncode != 0
    # and succeeds on nothing, as engines expect after a failed create
    runtime.ok("delete", "--force", bundle.id)


def test_delete_of_a_created_container_needs_no_force(runtime, bundle):
    bundle.args("true")
    runtime.ok("create", "--bundle", bundle.path, bundle.id)
    runtime.ok("delete", bundle.id)


def test_pause_and_resume_freeze_the_processes(runtime, bundle):
    bundle.args("sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    time.sleep(0.3)
    runtime.ok("pause", bundle.id)
    assert runtime.state(bundle.id)["status"] == "paused"
    tick = bundle.path.parent / "rootfs/tmp/tick"
    before = tick.read_text()
    time.sleep(0.4)
    assert tick.read_text() == before
    runtime.ok("resume", bundle.id)
    time.sleep(0.4)
    assert tick.read_text() != before
    assert runtime.state(bundle.id)["status"] == "running"


def test_list_shows_containers_in_json_and_table(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    items = json.loads(runtime.ok("list", "--format", "json").stdout)
    assert [i["id"] for i in items] == [bundle.id]
    assert items[0]["status"] == "running"
    table = runtime.ok("list").stdout
    assert bundle.id in table and "running" in table


def test_duplicate_id_is_refused_and_the_first_survives(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("create", "--bundle", bundle.path, bundle.id)
    r = runtime("create", "--bundle", bundle.path, bundle.id)
    assert r.returncode != 0 and "already exists" in r.stderr
    assert runtime.state(bundle.id)["status"] == "created"


def test_invalid_ids_are_refused(runtime, bundle):
    for bad in ("../x", "a/b", "-x"):
        r = runtime("create", "--bundle", bundle.path, bad)
        assert r.returncode != 0, bad


def test_spec_refuses_to_overwrite(runtime, tmp_path):
    runtime.ok("spec", "--bundle", tmp_path)
    r = runtime("spec", "--bundle", tmp_path)
    assert r.returncode != 0 and "exists already" in r.stderr


def test_features_reports_what_the_parser_accepts(runtime):
    f = json.loads(runtime.ok("features").stdout)
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert "rbind" in f["mountOptions"]
    assert set(f["linux"]["namespaces"]) >= {"pid", "network", "mount", "user", "cgroup", "time"}
    assert "createContainer" in f["hooks"]
    assert f["linux"]["seccomp"]["enabled"] is True


def test_state_of_unknown_container_fails_clearly(runtime):
    r = runtime("state", "nope")
    assert r.returncode == 1
    assert "container `nope` does not exist" in r.stderr


def test_a_create_that_has_not_written_its_state_is_no_container_yet(runtime):
    """A create makes the container's directory before its state.json: kill
    and state in between say `does not exist`, as runc does (the engine's
    `rm -f` of a restarting container relies on it), and delete --force
    removes the bare directory."""
    (runtime.root / "half").mkdir(parents=True)
    for cmd in (["kill", "half", "KILL"], ["state", "half"]):
        r = runtime(*cmd)
        assert r.returncode == 1 and "container `half` does not exist (its create has not finished)" in r.stderr
    runtime.ok("delete", "--force", "half")
    assert not (runtime.root / "half").exists()


def test_exec_runs_the_runtime_from_a_sealed_copy(runtime, bundle):
    """CVE-2019-5736: while a runtime process is inside the container, its
    /proc/<pid>/exe must not be the host's binary, and must not be writable."""
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    # `exec` without --detach waits for its process: look at it meanwhile.
    import subprocess, time
    p = subprocess.Popen([str(runtime.binary), "--root", str(runtime.root), "exec", bundle.id,
                          "sleep", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        exe = os.readlink(f"/proc/{p.pid}/exe")
        assert exe.startswith("/memfd:isola-runtime"), exe
        with pytest.raises(OSError):
            open(f"/proc/{p.pid}/exe", "r+b")
    finally:
        p.wait(10)


def test_systemd_cgroup_is_refused_with_the_reason(runtime, bundle):
    r = runtime("--systemd-cgroup", "create", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1
    assert "--systemd-cgroup" in r.stderr and "cgroupfs" in r.stderr, r.stderr
    assert not (runtime.root / bundle.id).exists()


def test_create_killed_midway_is_cleaned_by_delete_force(runtime, bundle):
    """SIGKILL to `create` while a createRuntime hook runs: what it left (the
    state directory, the cgroup) shows as a stopped container, and
    `delete --force` removes all of it (the leak check verifies)."""
    import os, signal, subprocess
    marker = bundle.path / "hook-started"
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}; sleep 30"]}]}
    bundle.args("true")
    p = subprocess.Popen([str(runtime.binary), "--root", str(runtime.root), "create", "--bundle",
                          str(bundle.path), bundle.id], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    os.killpg(p.pid, signal.SIGKILL)  # the runtime and the hook it runs
    p.wait(10)
    assert (runtime.root / bundle.id).exists()
    assert runtime.state(bundle.id)["status"] == "stopped"
    runtime.ok("delete", "--force", bundle.id)
    assert not (runtime.root / bundle.id).exists()
    assert not os.path.exists(f"/sys/fs/cgroup/pids/isola/{bundle.id}")

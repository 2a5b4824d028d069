"""The isola engine's containers (issue #7): run/create/start/stop/kill/
restart/rm/ps/logs/exec/attach/inspect/stats/top/wait, volumes, restart
policies, healthchecks and crash safety, on busybox images through our
runtime."""
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import leaks
from harness.engine import Engine, import_busybox
from harness.fixtures import run
from harness.podman import Podman
from harness.registry import build_layout


@pytest.fixture
def eng(isola, state_root, busybox_rootfs):
    e = Engine(isola, state_root)
    import_busybox(e, busybox_rootfs)
    yield e
    r = e("rm", "-f", "-a", timeout=120)
    assert e.leftovers() == [], f"isola rm -f -a: rc={r.returncode}\n{r.stderr}\n{e.describe_leftovers()}"


def test_run_foreground_stdio_and_exit_code(eng):
    r = eng("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr
    assert eng.leftovers() == []


def test_exit_codes_follow_docker(eng):
    r = eng("run", "--rm", "busybox", "/nonexistent")
    assert r.returncode == 127 and "/nonexistent" in r.stderr and "No such file" in r.stderr
    r = eng("run", "--rm", "busybox", "/etc")
    assert r.returncode == 126
    r = eng("run", "--rm", "--no-such-flag", "busybox", "true")
    assert r.returncode == 125 and "--no-such-flag" in r.stderr
    r = eng("run", "--rm", "no-such-image:1", "true")
    assert r.returncode == 125
    r = eng("run", "--rm", "busybox", "sh", "-c", "exit 200")
    assert r.returncode == 200
    assert eng.leftovers() == []


def test_stdin_and_environment(eng, tmp_path):
    r = eng("run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z", input="hello stdin\n")
    assert r.returncode == 0 and r.stdout == "HELLO STDIN\n"
    big = "x" * 300000 + "\n"
    r = eng("run", "--rm", "-i", "busybox", "wc", "-c", input=big)
    assert r.stdout.strip() == str(len(big))
    envf = tmp_path / "env"
    envf.write_text("# comment\nFROM_FILE=yes\n\nOVER=file\n")
    r = eng.ok("run", "--rm", "-e", "A=1", "--env-file", envf, "-e", "OVER=flag", "-w", "/made/here",
               "--hostname", "box1", "busybox", "sh", "-c", 'echo $A $FROM_FILE $OVER; pwd; hostname')
    assert r.stdout.split("\n")[:3] == ["1 yes flag", "/made/here", "box1"]
    r = eng.ok("run", "--rm", "-u", "nobody", "busybox", "id")
    assert r.stdout.startswith("uid=65534(nobody) gid=65534(nogroup)")
    r = eng.ok("run", "--rm", "-u", "1234:5678", "busybox", "id", "-u")
    assert r.stdout.strip() == "1234"
    r = eng.ok("run", "--rm", "--entrypoint", "echo", "busybox", "from", "entrypoint")
    assert r.stdout == "from entrypoint\n"
    r = eng("run", "--rm", "-u", "ghost", "busybox", "true")
    assert r.returncode == 125 and "ghost" in r.stderr


def test_detached_lifecycle_ps_logs_stop_wait_rm(eng):
    cid = eng.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                 'trap "echo bye; exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'
                 ).stdout.strip()
    assert len(cid) == 64
    ps = json.loads(eng.ok("ps", "--format", "json").stdout)
    assert [c["Names"][0] for c in ps] == ["ticker"] and ps[0]["State"] == "running"
    assert eng.ok("ps", "-q").stdout.strip() == cid[:12]
    time.sleep(0.5)
    logs = eng.ok("logs", "ticker").stdout
    assert logs.startswith("tick 0\ntick 1\n")
    assert eng.ok("logs", "--tail", "1", "ticker").stdout.count("\n") == 1
    assert eng.ok("logs", "-t", "ticker").stdout.split()[0].endswith("Z")
    # a second name is refused while the first exists
    r = eng("run", "-d", "--name", "ticker", "busybox", "true")
    assert r.returncode == 125 and "taken" in r.stderr
    eng.ok("stop", "-t", "5", "ticker")
    assert eng.ok("wait", "ticker").stdout.strip() == "0"
    st = eng.state("ticker")
    assert st["Status"] == "exited" and st["ExitCode"] == 0
    assert "bye" in eng.ok("logs", "ticker").stdout
    assert eng.ok("ps", "-q").stdout == ""
    assert cid[:12] in eng.ok("ps", "-a").stdout
    # the log is Docker's json-file
    first = (eng.containers_dir() / cid / "ctr.log").read_text().splitlines()[0]
    rec = json.loads(first)
    assert rec["log"] == "tick 0\n" and rec["stream"] == "stdout" and rec["time"].endswith("Z")
    eng.ok("rm", "ticker")
    assert eng.leftovers() == []


def pacing(tmp_path, bursts):
    """/sig/fifo-B for each burst B the container waits after: one FIFO
    each, so that the writer of one cannot let the next burst go (a
    container opening a FIFO whose writer is still open would read its EOF)."""
    sig = tmp_path / "sig"
    sig.mkdir()
    for b in range(1, bursts):
        os.mkfifo(sig / f"fifo-{b}")
    return sig


def released(sig, burst):
    """Let the container blocked after `burst` go on (blocks until it reads)."""
    with open(sig / f"fifo-{burst}", "w") as f:
        f.write("go\n")


def give_up(follower, sig):
    """End a follow that waits for a line that will not come, and a
    released() that waits for a container that will not read."""
    follower.kill()
    for fifo in sig.iterdir():
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))


def bursts_script(bursts, per):
    """line-1, line-2… in `bursts` bursts of `per` lines; after burst B but
    the last the container waits for the test to write to /sig/fifo-B."""
    return (f"n=0; b=0; while [ $b -lt {bursts} ]; do b=$((b+1)); i=0; "
            f"while [ $i -lt {per} ]; do i=$((i+1)); n=$((n+1)); echo line-$n; done; "
            f"[ $b -lt {bursts} ] && read go < /sig/fifo-$b; done; true")


def numbers(lines):
    return [int(line.split("-", 1)[1]) for line in lines]


@pytest.mark.parametrize("max_file,per", [(8, 60), (1, 5)])
def test_logs_follow_and_rotation(eng, tmp_path, max_file, per):
    """logs -f prints every line once, in order, across many rotations
    (max-size=1k holds about 12 lines): each burst of `per` lines rotates the
    log several times (max-file=8) or once (max-file=1: a new file each time)
    while the follower reads, and the next burst waits until the follower has
    printed the last one's lines, so the monitor never drops a file the
    follower has not finished."""
    bursts = 15 if max_file > 1 else 40
    total = bursts * per
    sig = pacing(tmp_path, bursts)
    eng.ok("run", "-d", "--name", "chatty", "--log-opt", "max-size=1k", "--log-opt", f"max-file={max_file}",
           "-v", f"{sig}:/sig", "busybox", "sh", "-c", bursts_script(bursts, per))
    f = subprocess.Popen(eng.argv("logs", "-f", "chatty"), stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, give_up, (f, sig))  # a lost line leaves the container waiting
    watchdog.start()
    got = []
    try:
        for line in f.stdout:
            got.append(line.rstrip("\n"))
            n = numbers(got[-1:])[0]
            if n == len(got) and n % per == 0 and n < total:
                released(sig, n // per)
        f.wait(timeout=60)
    finally:
        watchdog.cancel()
        f.kill()
    assert numbers(got) == list(range(1, total + 1))
    assert f.returncode == 0
    cid = eng.inspect("chatty")["Id"]
    files = sorted(p.name for p in (eng.containers_dir() / cid).glob("ctr.log*"))
    assert files == ["ctr.log"] + [f"ctr.log.{i}" for i in range(1, max_file)]
    for p in (eng.containers_dir() / cid).glob("ctr.log*"):
        assert p.stat().st_size <= 1024
    # the whole log, without -f, from the files kept
    kept = numbers(eng.ok("logs", "chatty").stdout.splitlines())
    assert kept == list(range(kept[0], total + 1)) and kept[0] > 1


def read_until(proc, last):
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if lines[-1] == last:
            return lines
    return lines


def test_logs_follow_with_tail_and_since(eng, tmp_path):
    """-f with --tail N starts with the last N lines, with --since T at the
    first line written at T or later, and both then follow across rotations."""
    sig = pacing(tmp_path, 3)
    eng.ok("run", "-d", "--name", "chatty", "--log-opt", "max-size=1k", "--log-opt", "max-file=40",
           "-v", f"{sig}:/sig", "busybox", "sh", "-c", bursts_script(3, 100))
    procs = []
    try:
        everything = subprocess.Popen(eng.argv("logs", "-f", "chatty"), stdout=subprocess.PIPE, text=True)
        procs.append(everything)
        before = read_until(everything, "line-100")
        released(sig, 1)
        before += read_until(everything, "line-200")
        assert numbers(before) == list(range(1, 201))
        stamped = dict(reversed(line.split(" ", 1)) for line in eng.ok("logs", "-t", "chatty").stdout.splitlines())
        tail = subprocess.Popen(eng.argv("logs", "-f", "--tail", "5", "chatty"), stdout=subprocess.PIPE, text=True)
        since = subprocess.Popen(eng.argv("logs", "-f", "--since", stamped["line-101"], "chatty"),
                                 stdout=subprocess.PIPE, text=True)
        procs += [tail, since]
        tail_lines, since_lines = read_until(tail, "line-200"), read_until(since, "line-200")
        released(sig, 2)
        out = [p.communicate(timeout=60)[0].splitlines() for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert numbers(before + out[0]) == list(range(1, 301))
    assert numbers(tail_lines + out[1]) == list(range(196, 301))
    assert numbers(since_lines + out[2]) == list(range(101, 301))
    assert all(p.returncode == 0 for p in procs)


def test_create_start_attach_restart(eng):
    cid = eng.ok("create", "--name", "later", "busybox", "sh", "-c", "echo started; exit 4").stdout.strip()
    assert eng.state("later")["Status"] == "created"
    r = eng("start", "-a", "later")
    assert r.returncode == 4 and r.stdout == "started\n"
    eng.ok("run", "-d", "--name", "svc", "busybox", "sleep", "1000")
    pid1 = eng.state("svc")["Pid"]
    eng.ok("restart", "-t", "1", "svc")
    st = eng.state("svc")
    assert st["Running"] and st["Pid"] != pid1
    # attach sees new output and the exit code
    eng.ok("run", "-d", "-i", "--name", "echoer", "busybox", "sh", "-c", "read line; echo got $line; exit 6")
    a = subprocess.run(eng.argv("attach", "echoer"), input="hi\n", capture_output=True,
                       text=True, timeout=30)
    assert a.stdout == "got hi\n" and a.returncode == 6
    assert cid


def test_exec(eng):
    eng.ok("run", "-d", "--name", "box", "-e", "BASE=1", "busybox", "sleep", "1000")
    r = eng.ok("exec", "-e", "EXTRA=2", "-w", "/tmp", "box", "sh", "-c", "echo $BASE $EXTRA; pwd")
    assert r.stdout == "1 2\n/tmp\n"
    assert eng("exec", "box", "sh", "-c", "exit 9").returncode == 9
    assert eng("exec", "box", "/nonexistent").returncode == 127
    assert eng.ok("exec", "-u", "nobody", "box", "id", "-un").stdout.strip() == "nobody"
    r = eng("exec", "-i", "box", "cat", input="piped\n")
    assert r.stdout == "piped\n"
    eng.ok("exec", "-d", "box", "sh", "-c", "echo detached > /tmp/d")
    time.sleep(0.3)
    assert eng.ok("exec", "box", "cat", "/tmp/d").stdout == "detached\n"
    top = eng.ok("top", "box").stdout
    assert "sleep 1000" in top
    eng.ok("stop", "-t", "0", "box")
    r = eng("exec", "box", "true")
    assert r.returncode == 125 and "not running" in r.stderr


def test_volumes_binds_and_tmpfs(eng, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "in").write_text("from host\n")
    eng.ok("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo persisted > /data/f")
    r = eng.ok("run", "--rm", "-v", "data:/data:ro", "-v", f"{host}:/h", "busybox", "sh", "-c",
               "cat /data/f /h/in; echo x > /data/g || echo ro-refused; echo back > /h/out")
    assert r.stdout == "persisted\nfrom host\nro-refused\n"
    assert (host / "out").read_text() == "back\n"
    # an empty new volume takes what the image has at its target
    r = eng.ok("run", "--rm", "-v", "etcvol:/etc", "busybox", "cat", "/etc/hostname")
    vols = json.loads(eng.ok("volume", "ls", "--format", "json").stdout)
    assert {v["Name"] for v in vols} == {"data", "etcvol"}
    assert (eng.root / "volumes/etcvol/_data/passwd").exists()
    r = eng.ok("run", "--rm", "--mount", f"type=bind,source={host},target=/m,readonly", "--tmpfs", "/scratch:size=1m",
               "busybox", "sh", "-c", "cat /m/in; touch /m/x || echo ro; grep /scratch /proc/mounts")
    assert r.stdout.startswith("from host\nro\n") and "tmpfs" in r.stdout and "size=1024k" in r.stdout
    r = eng("run", "--rm", "--mount", f"type=bind,source={tmp_path}/absent,target=/x", "busybox", "true")
    assert r.returncode == 125 and "absent" in r.stderr
    r = eng("run", "--rm", "-v", "data:relative", "busybox", "true")
    assert r.returncode == 125 and "absolute" in r.stderr
    # in use: refused; after: removed; anonymous volumes go with --rm
    eng.ok("run", "-d", "--name", "user", "-v", "data:/data", "busybox", "sleep", "100")
    r = eng("volume", "rm", "data")
    assert r.returncode == 125 and "in use" in r.stderr
    eng.ok("rm", "-f", "user")
    eng.ok("volume", "rm", "data")
    eng.ok("run", "--rm", "-v", "/anon", "busybox", "touch", "/anon/x")
    assert {v["Name"] for v in json.loads(eng.ok("volume", "ls", "--format", "json").stdout)} == {"etcvol"}
    eng.ok("volume", "create", "--label", "k=v", "named")
    assert eng.ok("inspect", "-f", "{{.Labels.k}} {{.Driver}}", "named").stdout == "v local\n"
    assert sorted(eng.ok("volume", "prune", "--all").stdout.split()) == ["etcvol", "named"]
    assert eng.ok("volume", "ls", "-q").stdout == ""


def cgroup_file(controller, cid, name):
    return Path(f"/sys/fs/cgroup/{controller}/isola/{cid}/{name}")


def test_resources_and_read_only(eng):
    cid = eng.ok("run", "-d", "-m", "64m", "--cpus", "0.5", "--pids-limit", "50", "busybox", "sleep", "100"
                 ).stdout.strip()
    assert int(cgroup_file("memory", cid, "memory.limit_in_bytes").read_text()) == 64 << 20
    assert int(cgroup_file("cpu", cid, "cpu.cfs_quota_us").read_text()) == 50000
    assert int(cgroup_file("pids", cid, "pids.max").read_text()) == 50
    stats = json.loads(eng.ok("stats", "--no-stream", "--format", "json", cid).stdout)
    assert stats[0]["mem_limit"] == 64 << 20 and stats[0]["pids"] == 1
    r = eng("run", "--rm", "--read-only", "--tmpfs", "/tmp", "busybox", "sh", "-c",
            "touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp-ok")
    assert r.stdout == "ro\ntmp-ok\n"
    r = eng("run", "--rm", "-m", "1k", "busybox", "true")
    assert r.returncode == 125 and "--memory" in r.stderr


def capeff(eng, *flags):
    out = eng.ok("run", "--rm", *flags, "busybox", "grep", "CapEff", "/proc/self/status").stdout
    return int(out.split()[1], 16)


def test_capabilities_and_seccomp(eng):
    CAP_NET_RAW, CAP_CHOWN, CAP_SYS_ADMIN = 13, 0, 21
    default = capeff(eng)
    assert not default & (1 << CAP_NET_RAW) and default & (1 << CAP_CHOWN)
    assert capeff(eng, "--cap-add", "NET_RAW") & (1 << CAP_NET_RAW)
    assert not capeff(eng, "--cap-drop", "chown") & (1 << CAP_CHOWN)
    assert capeff(eng, "--cap-drop", "ALL") == 0
    r = eng.ok("run", "--rm", "busybox", "sh", "-c", "grep Seccomp: /proc/self/status; unshare -m true 2>&1; echo $?")
    assert "Seccomp:\t2" in r.stdout and "Operation not permitted" in r.stdout
    r = eng.ok("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status")
    assert "Seccomp:\t0" in r.stdout
    r = eng("run", "--rm", "--cap-add", "NOT A CAP", "busybox", "true")
    assert r.returncode == 125


def test_restart_policies(eng):
    eng.ok("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
    st = eng.wait_for("flaky", lambda s: s["Status"] == "exited")
    assert st["ExitCode"] == 3 and eng.inspect("flaky")["RestartCount"] == 2
    eng.ok("run", "-d", "--name", "forever", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0")
    eng.wait_for("forever", lambda s: s["RestartCount"] >= 2)
    eng.ok("stop", "-t", "1", "forever")
    st = eng.state("forever")
    assert st["Status"] == "exited"
    n = st["RestartCount"]
    time.sleep(1)
    assert eng.state("forever")["RestartCount"] == n
    r = eng("run", "--rm", "--restart", "always", "busybox", "true")
    assert r.returncode == 125
    r = eng("run", "--restart", "sometimes", "busybox", "true")
    assert r.returncode == 125 and "sometimes" in r.stderr


def test_healthcheck(eng):
    eng.ok("run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ok", "--health-interval", "300ms",
           "--health-retries", "2", "busybox", "sleep", "1000")
    assert eng.state("hc")["Health"]["Status"] == "starting"
    eng.wait_for("hc", lambda s: s["Health"]["Status"] == "unhealthy")
    eng.ok("exec", "hc", "touch", "/tmp/ok")
    st = eng.wait_for("hc", lambda s: s["Health"]["Status"] == "healthy")
    assert st["Health"]["Log"][-1]["ExitCode"] == 0
    assert st["Health"]["Log"][-1]["Start"] < st["Health"]["Log"][-1]["End"]
    assert "(healthy)" in eng.ok("ps").stdout
    # unhealthy + a restart policy: the container is restarted
    eng.ok("run", "-d", "--name", "sick", "--restart", "always", "--health-cmd", "false", "--health-interval",
           "200ms", "--health-retries", "1", "busybox", "sleep", "1000")
    eng.wait_for("sick", lambda s: s["RestartCount"] >= 1, timeout=30)


def test_rm_force_during_restarts_leaves_no_monitor(eng):
    """`rm -f` of a container that its health check keeps restarting, at
    moments spread over the restart loop: nothing may outlive the command.
    (A misread start time once made a live monitor look dead, and a create
    in progress made `kill` fail; both left the monitor and its files.)"""
    def monitors():
        return {n for k, n in leaks._processes() if k == "process" and n.endswith(" isola-monitor")}
    before = monitors()
    for i in range(6):
        eng.ok("run", "-d", "--name", "well", "--health-cmd", "true", "--health-interval", "300ms", "busybox",
               "sleep", "1000")
        eng.ok("run", "-d", "--name", "sick", "--restart", "always", "--health-cmd", "false", "--health-interval",
               "200ms", "--health-retries", "1", "busybox", "sleep", "1000")
        eng.wait_for("sick", lambda s: s["RestartCount"] >= 1, timeout=30)
        time.sleep(i * 0.06)
        r = eng.ok("rm", "-f", "well", "sick")
        left = monitors() - before
        assert not left, f"round {i}: monitors left: {left}\n{r.stderr}"
        assert eng.leftovers() == [], f"round {i}: {r.stderr}\n{eng.describe_leftovers()}"


def test_init_reaps_and_forwards(eng):
    r = eng.ok("run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.stdout.startswith("/dev/init -- sh")
    eng.ok("run", "-d", "--init", "--name", "i", "busybox", "sleep", "1000")
    # the init forwards signals once it runs its child (as tini: before,
    # PID 1 without handlers ignores them)
    end = time.time() + 10
    while "sleep 1000" not in eng.ok("top", "i").stdout and time.time() < end:
        time.sleep(0.05)
    t = time.time()
    eng.ok("stop", "-t", "10", "i")
    assert time.time() - t < 5  # SIGTERM reached sleep through the init
    assert eng.state("i")["ExitCode"] == 143


def test_systemd_mode_bundle(eng):
    cid = eng.ok("create", "--systemd=always", "busybox", "sleep", "1").stdout.strip()
    eng.ok("start", cid)
    spec = json.loads((eng.containers_dir() / cid / "bundle/config.json").read_text())
    dst = {m["destination"]: m for m in spec["mounts"]}
    assert dst["/run"]["type"] == "tmpfs" and dst["/tmp"]["type"] == "tmpfs"
    own = [n for n in ("systemd", "unified") if os.path.ismount(f"/sys/fs/cgroup/{n}")]
    if own:
        # v1 or hybrid host: the controllers stay read-only (the container
        # cannot raise its own limits); the hierarchies systemd tracks its
        # units in are its own cgroup, bound writable
        assert "ro" in dst["/sys/fs/cgroup"]["options"]
        for n in own:
            assert "rw" in dst[f"/sys/fs/cgroup/{n}"]["options"], n
    else:
        assert "ro" not in dst["/sys/fs/cgroup"]["options"]
    assert "container=isola" in spec["process"]["env"]
    assert {"type": "cgroup"} in spec["linux"]["namespaces"]


def test_kill_monitor_and_client_are_survived(eng):
    eng.ok("run", "-d", "--name", "orphan", "busybox", "sleep", "1000")
    st = eng.state("orphan")
    os.kill(st["MonitorPid"], signal.SIGKILL)
    time.sleep(0.2)
    assert eng.state("orphan")["Status"] == "running"
    eng.ok("rm", "-f", "orphan")
    assert eng.leftovers() == []
    # kill -9 of a foreground `isola run`: the container runs on and is removable
    p = subprocess.Popen(eng.argv("run", "--name", "fg", "busybox", "sleep", "1000"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    eng.wait_for("fg", lambda s: s["Status"] == "running")
    p.kill()
    p.wait()
    assert eng.state("fg")["Status"] == "running"
    eng.ok("kill", "fg")
    eng.wait_for("fg", lambda s: s["Status"] == "exited")
    assert eng.state("fg")["ExitCode"] == 137


def test_concurrent_creates_with_one_name(eng):
    results = []

    def create():
        results.append(eng("create", "--name", "same", "busybox", "true").returncode)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0] + [125] * 5
    assert len(json.loads(eng.ok("ps", "-a", "--format", "json").stdout)) == 1


def test_two_hundred_containers_leave_nothing(eng):
    for i in range(200):
        r = eng("run", "--rm", "busybox", "true")
        assert r.returncode == 0, r.stderr
    assert eng.leftovers() == []
    assert eng.ok("ps", "-aq").stdout == ""


def test_events_and_inspect_format(eng):
    eng.ok("run", "--name", "ev", "busybox", "true")
    assert eng.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.Name}}", "ev").stdout == "exited 0 ev\n"
    assert eng.ok("inspect", "--type", "image", "-f", "{{json .RepoTags}}", "busybox").stdout.startswith("[")
    r = eng("inspect", "nothing-called-this")
    assert r.returncode == 125 and "nothing-called-this" in r.stderr


def test_pull_on_run(eng, registry, busybox_rootfs, tmp_path):
    from harness.registry import skopeo_copy
    tarball = tmp_path / "bb.tar"
    subprocess.run(["tar", "-C", busybox_rootfs, "-cf", tarball, "."], check=True)
    other = Engine(eng.build, tmp_path / "other")
    other.ok("import", tarball, "bb")
    ref = f"{registry.host}/engine/busybox:1"
    skopeo_copy(f"docker-archive:{save_docker(other, tmp_path)}", f"docker://{ref}", "--dest-tls-verify=false")
    # the registry listens on the host's loopback: this run is made in the
    # host's namespace, without a network
    r = eng.host("run", "--rm", "--network", "none", "--tls-verify=false", ref, "echo", "pulled")
    assert r.returncode == 0 and r.stdout == "pulled\n", r.stderr
    assert "engine/busybox" in eng.ok("images").stdout
    r = eng("run", "--rm", "--pull=never", f"{registry.host}/engine/absent:1", "true")
    assert r.returncode == 125 and "--pull=never" in r.stderr


def save_docker(engine, tmp_path):
    out = tmp_path / "bb-docker.tar"
    engine.ok("save", "-o", out, "bb")
    return out


def test_cp_both_ways_and_contained(eng, tmp_path):
    eng.ok("run", "-d", "--name", "files", "busybox", "sh", "-c",
           "mkdir -p /d/e; echo deep > /d/e/f; ln -s /etc/passwd /d/abs; ln -s ../../.. /d/up; sleep 1000")
    (tmp_path / "in.txt").write_text("to the container\n")
    eng.ok("cp", tmp_path / "in.txt", "files:/tmp/")
    assert eng.ok("exec", "files", "cat", "/tmp/in.txt").stdout == "to the container\n"
    time.sleep(0.2)
    eng.ok("cp", "files:/d", tmp_path / "out")
    assert (tmp_path / "out/e/f").read_text() == "deep\n"
    # links are copied as links, never followed out of the root
    assert os.readlink(tmp_path / "out/abs") == "/etc/passwd"
    # writing through an absolute link in the container stays inside it
    eng.ok("exec", "files", "ln", "-s", "/", "/tmp/root-link")
    eng.ok("cp", tmp_path / "in.txt", "files:/tmp/root-link/escaped.txt")
    assert not Path("/escaped.txt").exists()
    assert eng.ok("exec", "files", "cat", "/escaped.txt").stdout == "to the container\n"
    # from a stopped container too
    eng.ok("stop", "-t", "0", "files")
    eng.ok("cp", "files:/tmp/in.txt", tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_text() == "to the container\n"
    r = eng("cp", tmp_path / "in.txt", tmp_path / "x")
    assert r.returncode == 125


def test_events_system_info_df_prune(eng):
    eng.ok("run", "--name", "gone", "busybox", "true")
    evs = [json.loads(line) for line in eng.ok("events", "--stream=false", "--format", "json").stdout.splitlines()]
    actions = [e["Action"] for e in evs if e["Type"] == "container"]
    assert actions[:3] == ["create", "start", "die"]
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "0"
    only = eng.ok("events", "--stream=false", "--filter", "event=start").stdout.splitlines()
    assert len(only) == 1 and " start " in only[0]
    info = json.loads(eng.ok("system", "info", "--format", "json").stdout)
    assert info["containers"]["total"] == 1 and info["containers"]["stopped"] == 1
    assert info["store"]["root"] == str(eng.root)
    assert "Containers" in eng.ok("system", "df").stdout
    r = eng("system", "prune")
    assert r.returncode == 125 and "-f" in r.stderr
    assert eng.inspect("gone")["Id"] in eng.ok("system", "prune", "-f").stdout
    assert eng.ok("ps", "-aq").stdout == ""


def test_commit_makes_an_image_of_the_changes(eng):
    eng.ok("run", "--name", "changed", "-e", "KEPT=1", "busybox", "sh", "-c",
           "echo new file > /new; rm /bin/vi; mkdir -p /d; touch /d/x")
    img_id = eng.ok("commit", "-m", "my change", "-c", 'CMD ["cat", "/new"]', "-c", "ENV ADDED=2", "changed",
                    "localhost/committed:1").stdout.strip()
    assert len(img_id) == 64
    assert eng.ok("run", "--rm", "localhost/committed:1").stdout == "new file\n"
    r = eng.ok("run", "--rm", "localhost/committed:1", "sh", "-c",
               "test -e /bin/vi && echo vi-back || echo vi-gone; ls /d; echo $KEPT $ADDED")
    assert r.stdout == "vi-gone\nx\n1 2\n"
    info = eng.inspect("localhost/committed:1")
    assert len(info["RootFS"]["Layers"]) == 2
    r = eng("commit", "-c", "FROB x", "changed", "localhost/bad:1")
    assert r.returncode == 125 and "FROB" in r.stderr


@pytest.fixture
def podman(isola, tmp_path):
    p = Podman(isola, tmp_path / "podman")
    yield p
    p.close()


RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
BUILD = """FROM {base}
RUN echo built on {base} > /built
ENV FROM_BUILD=1
LABEL made.by=podman
RUN cat /built
"""


def add_file(diff_id):
    """The history entry Podman writes for a layer imported from a tarball."""
    return f"/bin/sh -c #(nop) ADD file:{diff_id[7:]} in /"


def layer_steps(history):
    return [h for h in history if not h.get("empty_layer")]


def to_podman(eng, podman, tmp_path, ref):
    archive = tmp_path / (re.sub(r"[/:]", "_", ref) + ".tar")
    eng.ok("save", "-o", archive, ref)
    podman.ok("load", "-i", archive)


def build_on(podman, tmp_path, base, tag):
    """podman build FROM base with RUN, ENV and LABEL steps; what it made
    must itself be a base (Buildah counts the history entries that made a
    layer against the layers, and refuses a base where they differ)."""
    ctx = tmp_path / re.sub(r"[/:]", "_", tag)
    ctx.mkdir()
    r = podman.build(ctx, BUILD.format(base=base), tag)
    assert f"built on {base}" in r.stdout, r.stdout
    info = podman.inspect(tag)
    assert info["Labels"]["made.by"] == "podman" and "FROM_BUILD=1" in info["Config"]["Env"]
    assert len(layer_steps(info["History"])) == len(info["RootFS"]["Layers"]), info["History"]
    return info


def test_imported_image_has_history_and_podman_builds_on_it(eng, podman, tmp_path):
    info = eng.inspect("busybox")
    assert RFC3339_UTC.match(info["Created"]), info["Created"]
    (diff_id,) = info["RootFS"]["Layers"]
    assert info["History"] == [{"created": info["Created"], "created_by": add_file(diff_id)}]
    eng.ok("tag", "busybox", "localhost/isola-import:1")
    to_podman(eng, podman, tmp_path, "localhost/isola-import:1")
    built = build_on(podman, tmp_path, "localhost/isola-import:1", "localhost/on-import:1")
    assert built["History"][0]["created_by"] == add_file(diff_id), "the base's entry is kept"
    # and what podman built on it is a base podman builds on
    build_on(podman, tmp_path, "localhost/on-import:1", "localhost/on-import:2")


def test_committed_images_extend_their_base_history_and_podman_builds_on_them(eng, podman, tmp_path):
    base = eng.inspect("busybox")
    eng.ok("run", "--name", "changed", "busybox", "sh", "-c", "echo committed > /committed")
    eng.ok("commit", "-m", "a change", "-a", "me", "-c", "ENV ADDED=1", "changed", "localhost/committed:1")
    c1 = eng.inspect("localhost/committed:1")
    assert c1["History"][:1] == base["History"], "the base's history is kept"
    step = c1["History"][1]
    assert step == {"created": c1["Created"], "created_by": "sh -c echo committed > /committed",
                    "comment": "a change", "author": "me"}
    assert c1["Author"] == "me" and RFC3339_UTC.match(c1["Created"])
    assert len(c1["RootFS"]["Layers"]) == 2
    # A commit of a container that changed no file adds no layer: a
    # config-only step, marked empty_layer, as Docker's commit makes it.
    eng.ok("create", "--name", "unchanged", "localhost/committed:1", "sh", "-c", "cat /committed; echo $ADDED")
    eng.ok("commit", "-c", "LABEL step=config-only", "unchanged", "localhost/committed:2")
    c2 = eng.inspect("localhost/committed:2")
    assert c2["RootFS"]["Layers"] == c1["RootFS"]["Layers"]
    assert c2["History"][:2] == c1["History"] and c2["History"][2]["empty_layer"] is True
    assert c2["Config"]["Labels"] == {"step": "config-only"}
    assert eng.ok("run", "--rm", "localhost/committed:2").stdout == "committed\n1\n"
    for tag, mine in (("1", c1), ("2", c2)):
        to_podman(eng, podman, tmp_path, f"localhost/committed:{tag}")
        built = build_on(podman, tmp_path, f"localhost/committed:{tag}", f"localhost/on-commit:{tag}")
        theirs = built["History"][:len(mine["History"])]
        assert [h["created_by"] for h in theirs] == [h["created_by"] for h in mine["History"]]


def test_images_stored_without_history_still_run_and_commit_into_a_base(eng, podman, tmp_path):
    """Images isola stored before it wrote history (and any tool's image
    without one) load and run; a commit on them gives every layer its entry."""
    busybox = Path("/bin/busybox").read_bytes()
    build_layout(tmp_path / "old", {("linux", "amd64"): [
        [("bin", "dir", None, 0o755), ("bin/busybox", "file", busybox, 0o755), ("bin/sh", "symlink", "busybox", 0o777),
         ("bin/cat", "symlink", "busybox", 0o777)],
        [("etc", "dir", None, 0o755), ("etc/motd", "file", b"old\n", 0o644)]]}, tag="old")
    eng.ok("load", "-i", tmp_path / "old")
    old = eng.inspect("localhost/loaded:old")
    assert old["History"] == [] and len(old["RootFS"]["Layers"]) == 2
    assert eng.ok("run", "--rm", "localhost/loaded:old", "cat", "/etc/motd").stdout == "old\n"
    eng.ok("run", "--name", "on-old", "localhost/loaded:old", "sh", "-c", "echo new > /new")
    eng.ok("commit", "on-old", "localhost/on-old:1")
    info = eng.inspect("localhost/on-old:1")
    layers = info["RootFS"]["Layers"]
    assert len(layers) == 3
    assert [h["created_by"] for h in info["History"]] == [add_file(d) for d in layers[:2]] + ["sh -c echo new > /new"]
    to_podman(eng, podman, tmp_path, "localhost/on-old:1")
    build_on(podman, tmp_path, "localhost/on-old:1", "localhost/on-old:2")


@pytest.fixture(scope="module")
def debian_redis():
    """Debian 12 (debootstrap minbase) with redis, built once and cached."""
    r = subprocess.run([Path(__file__).parent / "images/debian-redis"], capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


def test_debian_image_runs_redis(eng, debian_redis):
    eng.ok("import", debian_redis, "localhost/debian-redis:12", timeout=300)
    eng.ok("run", "-d", "--name", "redis", "-u", "redis", "--health-cmd", "redis-cli ping | grep -q PONG",
           "--health-interval", "500ms", "--restart", "on-failure:3", "localhost/debian-redis:12",
           "redis-server", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1")
    eng.wait_for("redis", lambda s: s.get("Health", {}).get("Status") == "healthy", timeout=60)
    assert eng.ok("exec", "redis", "redis-cli", "set", "greeting", "from isola").stdout.strip() == "OK"
    assert eng.ok("exec", "redis", "redis-cli", "get", "greeting").stdout.strip() == "from isola"
    assert eng.ok("exec", "redis", "id", "-un").stdout.strip() == "redis"  # run -u holds for exec
    top = eng.ok("top", "redis").stdout
    assert "redis-server" in top and "redis " in top
    assert "Ready to accept connections" in eng.ok("logs", "redis").stdout
    # redis stops cleanly on SIGTERM: exit 0, no restart
    eng.ok("stop", "redis")
    st = eng.state("redis")
    assert st["ExitCode"] == 0 and st["RestartCount"] == 0
    assert cat_os_release(eng).startswith('PRETTY_NAME="Debian GNU/Linux 12')


def cat_os_release(eng):
    return eng.ok("run", "--rm", "localhost/debian-redis:12", "cat", "/etc/os-release").stdout


def test_private_network_has_loopback_up(eng):
    for mode in ("private", "none"):
        r = eng.ok("run", "--rm", "--network", mode, "busybox", "sh", "-c",
                   "cat /sys/class/net/lo/flags; ls /sys/class/net")
        flags, links = r.stdout.split("\n", 1)
        assert int(flags, 16) & 1 and links.split() == ["lo"]
    # the default is the `isola` network (test_network.py)
    r = eng.ok("run", "--rm", "busybox", "ls", "/sys/class/net")
    assert r.stdout.split() == ["eth0", "lo"]
    r = eng.ok("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net")
    assert len(r.stdout.split()) >= 1


def test_prune_removes_what_a_killed_create_left(eng):
    half = eng.containers_dir() / ("ab" * 32)
    (half / "upper").mkdir(parents=True)
    assert eng.ok("ps", "-aq").stdout == ""
    r = eng.ok("system", "prune", "-f")
    assert "half-made" in r.stderr and not half.exists()


def test_tty_and_signal_proxy(eng):
    cmd = f"nsenter --net=/run/netns/{eng.netns} -- {eng.binary} --root {eng.root} run --rm -t busybox sh -c 'tty; stty size'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "/dev/pts/0" in r.stdout, r.stdout + r.stderr
    eng.ok("run", "-d", "--name", "t", "busybox", "sleep", "1000")
    cmd = f"nsenter --net=/run/netns/{eng.netns} -- {eng.binary} --root {eng.root} exec -t t tty"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "/dev/pts/" in r.stdout
    # SIGTERM to a foreground `isola run` reaches the container's process
    p = subprocess.Popen(eng.argv("run", "--name", "fgsig", "--init", "busybox", "sleep",
                          "1000"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    eng.wait_for("fgsig", lambda s: s["Status"] == "running")
    end = time.time() + 10
    while "sleep 1000" not in eng.ok("top", "fgsig").stdout and time.time() < end:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 143


def test_commands_on_a_missing_container(eng):
    for args in (["stop"], ["restart"], ["start"], ["kill"], ["rm"], ["logs"], ["wait"], ["exec", "ghost-ctr", "true"],
                 ["top"], ["attach"]):
        argv = args if "ghost-ctr" in args else args + ["ghost-ctr"]
        r = eng(*argv)
        assert r.returncode == 125 and "ghost-ctr" in r.stderr, (argv, r.stderr)
    r = eng("events", "--stream=false", "--since", "yesterday-ish")
    assert r.returncode == 125 and "--since" in r.stderr

"""isola-runtime: cgroup limits are enforced, seccomp blocks, update and
events work, exec runs in the container."""
import json
import subprocess
import socket
import threading
import time

import pytest

from harness.fixtures import run


def test_memory_hog_is_oom_killed_and_reported(runtime, bundle):
    bundle.linux["resources"]["memory"] = {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}
    bundle.args("sh", "-c", "sleep 0.2; dd if=/dev/zero of=/dev/null bs=64M count=1")
    runtime.ok("create", "--bundle", bundle.path, bundle.id)
    runtime.ok("start", bundle.id)
    deadline = time.monotonic() + 10
    while runtime.state(bundle.id)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.05)
    ev = json.loads(runtime.ok("events", "--stats", bundle.id).stdout)
    assert ev["type"] == "stats"
    assert ev["data"]["memory"]["oom_kills"] >= 1


def test_fork_bomb_stops_at_pids_limit(runtime, bundle):
    bundle.linux["resources"]["pids"] = {"limit": 8}
    bundle.args("sh", "-c", "for i in $(seq 20); do sleep 5 & done; wait")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    cg = f"/sys/fs/cgroup/pids/isola/{bundle.id}"
    time.sleep(0.5)
    assert int(open(f"{cg}/pids.current").read()) <= 8
    assert open(f"{cg}/pids.max").read().strip() == "8"
    # the kernel counted the forks it refused
    assert int(open(f"{cg}/pids.events").read().split()[1]) > 0


def test_seccomp_blocks_a_syscall_with_the_configured_errno(runtime, bundle):
    bundle.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    bundle.args("sh", "-c", "mkdir /tmp/d 2>&1; ls -d /tmp/d 2>&1; true")
    out = runtime.ok("run", bundle.id, cwd=bundle.path).stdout
    assert "Operation not permitted" in out
    assert "No such file" in out


class _SeccompAgent:
    """A seccomp listener, as an engine's agent would be: it takes the fd and
    state that the runtime sends to linux.seccomp.listenerPath and answers
    every notified syscall with ENOSPC."""
    RECV = 0xC0502100  # SECCOMP_IOCTL_NOTIF_RECV: _IOWR('!', 0, struct seccomp_notif)
    SEND = 0xC0182101  # SECCOMP_IOCTL_NOTIF_SEND: _IOWR('!', 1, struct seccomp_notif_resp)

    def __init__(self, path):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(4)
        self.states, self.seen = [], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import array, fcntl, os, struct
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            fds = array.array("i")
            msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:4])
            self.states.append(json.loads(msg))
            conn.close()
            threading.Thread(target=self._answer, args=(fds[0],), daemon=True).start()

    def _answer(self, fd):
        import fcntl, os, struct
        while True:
            buf = bytearray(80)
            try:
                fcntl.ioctl(fd, self.RECV, buf)
            except OSError:
                os.close(fd)
                return  # the filtered processes are gone
            nid, pid, _flags, nr = struct.unpack_from("QIIi", buf)
            self.seen.append(nr)
            resp = bytearray(struct.pack("QqiI", nid, 0, -28, 0))  # error = -ENOSPC
            try:
                fcntl.ioctl(fd, self.SEND, resp)
            except OSError:
                pass

    def close(self):
        self.srv.close()


def test_seccomp_notify_goes_to_the_listener(runtime, bundle, tmp_path):
    """SCMP_ACT_NOTIFY: the listener fd and the container process state reach
    listenerPath, for the init at create and for each exec, and the agent's
    answers are what the container's syscalls return."""
    agent = _SeccompAgent(tmp_path / "agent.sock")
    bundle.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "listenerPath": str(tmp_path / "agent.sock"),
        "listenerMetadata": "from-the-test",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
    }
    bundle.args("sh", "-c", "mkdir /tmp/d 2>&1; sleep 100")
    runtime.ok("create", "--bundle", bundle.path, bundle.id)
    assert len(agent.states) == 1
    st = agent.states[0]
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "from-the-test"
    assert st["state"]["id"] == bundle.id and st["pid"] == runtime.state(bundle.id)["pid"]
    runtime.ok("start", bundle.id)
    r = runtime.ok("exec", bundle.id, "sh", "-c", "mkdir /tmp/e 2>&1; echo rc=$?")
    assert "No space left on device" in r.stdout and "rc=1" in r.stdout, r.stdout
    assert len(agent.states) == 2 and agent.states[1]["state"]["status"] == "running"
    assert 83 in agent.seen or 258 in agent.seen  # mkdir or mkdirat reached the agent
    runtime.ok("delete", "--force", bundle.id)
    agent.close()


def test_seccomp_listener_that_is_absent_fails_create_cleanly(runtime, bundle, tmp_path):
    bundle.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": str(tmp_path / "nobody.sock"),
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
    }
    bundle.save()
    r = runtime("create", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1 and "listenerPath" in r.stderr and "nobody.sock" in r.stderr, r.stderr
    assert not (runtime.root / bundle.id).exists()


def test_update_changes_limits_of_a_running_container(runtime, bundle, tmp_path):
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    res = tmp_path / "r.json"
    res.write_text(json.dumps({"pids": {"limit": 42}}))
    runtime.ok("update", "--resources", res, bundle.id)
    runtime.ok("update", "--memory", "33554432", bundle.id)
    cg = f"/sys/fs/cgroup/pids/isola/{bundle.id}"
    assert open(f"{cg}/pids.max").read().strip() == "42"
    mem = f"/sys/fs/cgroup/memory/isola/{bundle.id}/memory.limit_in_bytes"
    assert open(mem).read().strip() == "33554432"
    # an unknown field is ignored with a warning, as runc does (docs/runtime.md)
    r = runtime("update", "--resources", "-", bundle.id, input='{"memory": {"limt": 1}}')
    assert r.returncode == 0 and "resources.memory.limt: unknown field, ignored" in r.stderr


def test_exec_runs_in_the_containers_namespaces_with_its_status(runtime, bundle):
    bundle.config["hostname"] = "inside"
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    r = runtime("exec", "--env", "X=1", "--cwd", "/tmp", bundle.id, "sh", "-c",
                "echo $X $(pwd) $(hostname); ps | wc -l; exit 5")
    assert r.returncode == 5, r.stderr
    x, cwd, host, nprocs = r.stdout.split()
    assert (x, cwd, host) == ("1", "/tmp", "inside")
    assert int(nprocs) <= 5  # only the container's processes are visible


def test_exec_with_process_file_detached_writes_pid_file(runtime, bundle, tmp_path):
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    proc = dict(bundle.process, args=["sleep", "50"])
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps(proc))
    pidfile = tmp_path / "exec.pid"
    runtime.ok("exec", "--process", pf, "--detach", "--pid-file", pidfile, bundle.id)
    pid = int(pidfile.read_text())
    assert open(f"/proc/{pid}/cmdline").read().startswith("sleep")
    assert pid in json.loads(runtime.ok("ps", "--format", "json", bundle.id).stdout)


def test_exec_of_a_missing_program_says_not_found(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    r = runtime("exec", bundle.id, "nope")
    assert r.returncode != 0 and "executable file not found" in r.stderr


def _console_server(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        got["name"], got["fd"] = msg.decode(), fds[0]
        conn.close()
        srv.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    return t, got


def _read_all(fd, timeout=5):
    import os, select
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def test_console_socket_receives_the_pty_master(runtime, bundle, tmp_path):
    import os
    sock = tmp_path / "console.sock"
    t, got = _console_server(sock)
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 33, "width": 99}
    bundle.args("sh", "-c", "tty; stty size; echo done")
    runtime.ok("create", "--bundle", bundle.path, "--console-socket", sock, bundle.id)
    t.join(5)
    assert got["name"].startswith("/dev/pts/")
    runtime.ok("start", bundle.id)
    out = _read_all(got["fd"])
    os.close(got["fd"])
    assert "/dev/pts/0" in out and "33 99" in out and "done" in out


def test_exec_tty_through_console_socket(runtime, bundle, tmp_path):
    import os
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    sock = tmp_path / "exec.sock"
    t, got = _console_server(sock)
    runtime.ok("exec", "--tty", "--console-socket", sock, "--detach", bundle.id, "sh", "-c",
               "tty; echo execdone")
    t.join(5)
    out = _read_all(got["fd"])
    os.close(got["fd"])
    assert "/dev/pts/" in out and "execdone" in out


def test_terminal_without_console_socket_is_refused(runtime, bundle):
    bundle.process["terminal"] = True
    bundle.save()
    r = runtime("create", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1 and "give --console-socket" in r.stderr
    r = runtime("run", "--detach", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1 and "give --console-socket" in r.stderr
    assert not (runtime.root / bundle.id).exists()


def _on_a_pty(argv, send, rows=27, cols=91, timeout=30):
    """Run argv with a fresh pty as its stdio (as a user's shell would), type
    `send`, and return (exit code, everything it printed)."""
    import fcntl, os, pty, struct, termios, time
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    p = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
    os.close(slave)
    time.sleep(0.3)
    os.write(master, send.encode())
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every slave fd is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout), out.decode(errors="replace")


def test_run_with_terminal_keeps_the_pty_itself(runtime, bundle):
    """runc's behaviour: `run` in the foreground without --console-socket
    copies the container's terminal to its own stdio, sized like ours."""
    bundle.process["terminal"] = True
    bundle.args("sh", "-c", "read x; echo got:$x; tty; stty size; exit 7")
    rc, out = _on_a_pty([runtime.binary, "--root", runtime.root, "run", "--bundle", bundle.path,
                         bundle.id], "hello\n")
    assert rc == 7, out
    assert "got:hello" in out and "/dev/pts/0" in out and "27 91" in out, out
    assert not (runtime.root / bundle.id).exists()


def test_exec_tty_in_the_foreground_without_console_socket(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    rc, out = _on_a_pty([runtime.binary, "--root", runtime.root, "exec", "--tty", bundle.id,
                         "sh", "-c", "read x; echo exec:$x; tty; exit 3"], "there\n")
    assert rc == 3, out
    assert "exec:there" in out and "/dev/pts/" in out, out
    r = runtime("exec", "--tty", "--detach", bundle.id, "true")
    assert r.returncode != 0 and "--detach needs --console-socket" in r.stderr
    runtime.ok("delete", "--force", bundle.id)

"""isola-vmm's Firecracker-style API, pause/resume and snapshots (issue #9),
with the `count` test guest, whose state is a counter in memory that it
prints ("isola-test: count N") as it goes: paused it stops, restored it goes
on from where it was (never from 0), in a new process and in ten clones at
once; and with the `vloop` guest, which keeps rng, disk, NIC and vsock busy
round after round: restored, it goes on with the next round on the same
queues (its vsock connection reset, its NIC moved to another tap)."""
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from harness.vmm import guest, wait_for


class Api:
    """HTTP/1.1 over the VMM's Unix socket, one connection per request (as
    curl --unix-socket does)."""

    def __init__(self, path):
        self.path = str(path)

    def __call__(self, method, url, body=None):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.path)
        target = url if isinstance(url, bytes) else url.encode()  # bytes: sent as they are
        head = f"{method} ".encode() + target + \
            f" HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n".encode()
        if body is not None:
            head += b"Content-Type: application/json\r\n"
        s.sendall(head + b"Connection: close\r\n\r\n" + data)
        resp = b""
        while chunk := s.recv(65536):
            resp += chunk
        s.close()
        status = int(resp.split(b" ", 2)[1])
        payload = resp.split(b"\r\n\r\n", 1)[1]
        return status, json.loads(payload) if payload.strip() else None


WHOLE_COUNT = re.compile(r"isola-test: count (\d+) gen [0-9a-f]{16}\n")


def continues(before, after):
    """Whether a restored guest's console takes up exactly where the
    snapshot's stopped: the pause may fall in the middle of a line, which
    the restored guest finishes, so the two texts are read as one.  Its
    whole lines count on by one, and the restored guest adds some."""
    joined = [int(n) for n in WHOLE_COUNT.findall(before + after)]
    return len(joined) > len(WHOLE_COUNT.findall(before)) and \
        all(b == a + 1 for a, b in zip(joined, joined[1:]))


class Vmm:
    def __init__(self, isola, tmp_path, *args, name="vmm"):
        self.sock = tmp_path / f"{name}.sock"
        self.path = tmp_path / f"{name}.out"
        self.out = open(self.path, "w")
        argv = [isola.bin("isola-vmm"), *map(str, args)]
        if "--api-sock" in args:
            self.api = Api(args[args.index("--api-sock") + 1])
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.PIPE, text=True)

    def wait_sock(self, path):
        for _ in range(100):
            if path.exists():
                return
            time.sleep(0.05)
        raise AssertionError(f"no API socket: {self.p.stderr.read() if self.p.poll() is not None else ''}")

    def text(self):
        # a file of its own: seeking the VMM's stdout would move where it writes
        with open(self.path) as f:
            return f.read()

    def counts(self):
        return [int(n) for n in re.findall(r"isola-test: count (\d+)", self.text())]

    def gens(self):
        """The VM generation IDs the guest saw, in order, without repeats."""
        seen = []
        # whole lines only: the guest may be writing (or paused in) the last one
        for g in re.findall(r"isola-test: count \d+ gen ([0-9a-f]{16})\n", self.text()):
            if not seen or seen[-1] != g:
                seen.append(g)
        return seen

    def wait_count(self, above, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            c = self.counts()
            if c and c[-1] > above:
                return c
            time.sleep(0.05)
        raise AssertionError(f"the count did not pass {above}: {self.counts()[-3:]}")

    def stop(self):
        self.p.terminate()
        rc = self.p.wait(timeout=20)
        self.out.close()
        return rc


@pytest.fixture
def booted(isola, tmp_path):
    """The count guest on 2 vCPUs, configured and started through the API."""
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--api-sock", sock)
    v.wait_sock(sock)
    a = v.api
    assert a("GET", "/")[1]["state"] == "Not started"
    assert a("PUT", "/boot-source", {"kernel_image_path": str(guest(isola, "count")),
                                     "boot_args": "console=ttyS0"})[0] == 204
    assert a("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64})[0] == 204
    assert a("PUT", "/actions", {"action_type": "InstanceStart"})[0] == 204
    assert a("GET", "/")[1]["state"] == "Running"
    v.wait_count(2)
    yield v
    if v.p.poll() is None:
        v.stop()
    assert not sock.exists(), "the API socket is removed at exit"


def test_api_configures_and_starts_like_firecracker(booted, isola):
    a = booted.api
    st, ver = a("GET", "/version")
    assert st == 200 and ver["firecracker_version"]
    st, cfg = a("GET", "/vm/config")
    assert st == 200 and cfg["machine-config"] == {"vcpu_count": 2, "mem_size_mib": 64, "smt": False,
                                                   "track_dirty_pages": False, "huge_pages": "None"}
    assert cfg["boot-source"]["kernel_image_path"].endswith("count.elf")
    # configuration is closed once the guest runs
    st, err = a("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    assert st == 400 and "before InstanceStart" in err["fault_message"]
    st, err = a("PUT", "/actions", {"action_type": "InstanceStart"})
    assert st == 400 and "started already" in err["fault_message"]
    assert booted.stop() == 128 + 15


def test_bad_requests_name_the_field(isola, tmp_path):
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--api-sock", sock)
    v.wait_sock(sock)
    a = v.api
    for method, url, body, says in [
            ("PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 64}, "vcpu_count: must be a whole number"),
            ("PUT", "/machine-config", {"vcpu_count": 1}, "mem_size_mib: missing field"),
            ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64, "cpus": 2}, "unknown field `cpus`"),
            ("PUT", "/boot-source", {"kernel_image_path": "/nonexistent"}, "kernel_image_path: cannot read"),
            ("PUT", "/boot-source", {"kernel_image_path": 7}, "kernel_image_path: must be a string"),
            ("PUT", "/drives/rootfs", {"drive_id": "other", "path_on_host": "/dev/null"}, "drive_id: `other` differs"),
            ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "t", "guest_mac": "zz"},
             "guest_mac"),
            ("PUT", "/actions", {"action_type": "Explode"}, "action_type: `Explode`"),
            ("PUT", "/actions", {"action_type": "InstanceStart"}, "no kernel"),
            ("PATCH", "/vm", {"state": "Paused"}, "not started"),
            ("PUT", "/snapshot/load", {"snapshot_path": str(tmp_path / "none"), "mem_file_path": "/dev/null"},
             "snapshot_path"),
            ("GET", "/nothing", None, "Invalid request method and/or path"),
            # a path that is not UTF-8 is echoed with ? for its bytes (JSON cannot carry them)
            ("GET", b"/caf\xe9", None, "Invalid request method and/or path: GET /caf?"),
            ("PUT", "/balloon", {"amount_mib": 1}, "/balloon is not built yet"),
            ("PUT", "/mmds/config", {}, "/mmds/config is not built yet"),
            ("PATCH", "/network-interfaces/eth0", {"iface_id": "eth0"}, "patched once the microVM runs"),
            ("PUT", "/drives/", {"drive_id": "", "path_on_host": "/dev/null"}, "Invalid request"),
            ("PUT", "/boot-source", b"{not json", "not a JSON object")]:
        st, err = a(method, url, body)
        assert st == 400 and says in err["fault_message"], (url, err)
    # nothing was half-configured: the machine is as it was
    assert a("GET", "/machine-config")[1] == {"vcpu_count": 1, "mem_size_mib": 128, "smt": False,
                                              "track_dirty_pages": False, "huge_pages": "None"}
    # a NIC put twice under one iface_id is replaced, not added
    for tap in ("tap0", "tap1"):
        assert a("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": tap})[0] == 204
    assert a("GET", "/vm/config")[1]["network-interfaces"] == [{"iface_id": "eth0", "host_dev_name": "tap1"}]
    assert v.stop() == 128 + 15
    assert not sock.exists()


def loaded(isola, tmp_path, name, state, mem, **load):
    """A fresh isola-vmm that loads a snapshot through the API, resumed."""
    sock = tmp_path / f"{name}.sock"
    v = Vmm(isola, tmp_path, "--api-sock", sock, name=name)
    v.wait_sock(sock)
    st = v.api("PUT", "/snapshot/load", {"snapshot_path": str(state), "resume_vm": True,
                                         "mem_backend": {"backend_type": "File", "backend_path": str(mem)}, **load})
    assert st[0] == 204, st
    return v


def last_count(text):
    return int(WHOLE_COUNT.findall(text)[-1])


def snap(api, tmp_path, state, mem, kind="Full"):
    return api("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / state),
                                           "mem_file_path": str(tmp_path / mem), "snapshot_type": kind})


def rebase(isola, base, diff):
    return subprocess.run([isola.bin("isola-vmm"), "rebase-snap", "--base-file", base, "--diff-file", diff],
                          capture_output=True, text=True, timeout=60)


def test_pause_resume_and_snapshot_restore_in_a_new_process(booted, isola, tmp_path):
    a = booted.api
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert a("GET", "/")[1]["state"] == "Paused"
    time.sleep(0.3)
    at_pause = booted.counts()[-1]
    snapped = booted.text()
    time.sleep(1)
    assert booted.counts()[-1] == at_pause, "a paused guest does not count"
    st, err = a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                            "mem_file_path": str(tmp_path / "s.mem"), "snapshot_type": "Diff"})
    assert st == 400 and "needs dirty-page tracking" in err["fault_message"]
    assert a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                         "mem_file_path": str(tmp_path / "s.mem")})[0] == 204
    assert (tmp_path / "s.mem").stat().st_size == 64 << 20
    assert (tmp_path / "s.state").read_bytes()[:8] == b"ISOLASNP"
    # the original goes on
    assert a("PATCH", "/vm", {"state": "Resumed"})[0] == 204
    booted.wait_count(at_pause + 2)
    st, err = a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "x"), "mem_file_path": str(tmp_path / "y")})
    assert st == 400 and "must be paused" in err["fault_message"]
    booted.stop()
    # a new process loads it through the API (Firecracker's way) ...
    v2 = loaded(isola, tmp_path, "restored", tmp_path / "s.state", tmp_path / "s.mem")
    v2.wait_count(at_pause + 1)
    assert "count start" not in v2.text(), "it did not boot again"
    assert continues(snapped, v2.text()), v2.text()[:300]
    assert v2.api("GET", "/vm/config")[1]["machine-config"]["vcpu_count"] == 2
    v2.stop()
    # ... and from the command line, paused first
    v3 = Vmm(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem",
             "--restore-paused", "--api-sock", tmp_path / "api3.sock", name="cli")
    v3.wait_sock(tmp_path / "api3.sock")
    time.sleep(0.5)
    assert v3.counts() == [] and v3.api("GET", "/")[1]["state"] == "Paused"
    assert v3.api("PATCH", "/vm", {"state": "Resumed"})[0] == 204
    v3.wait_count(at_pause + 1)
    assert continues(snapped, v3.text()), v3.text()[:300]
    v3.stop()


def test_diff_snapshots_carry_only_the_pages_written_since_the_last(isola, tmp_path):
    """Firecracker's Diff snapshots: with track_dirty_pages, a Diff's memory
    file holds the pages written since the last snapshot (holes elsewhere);
    `rebase-snap` merges it onto the last memory file, or the Diff is
    written straight onto a copy of it.  Either restores exactly."""
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--api-sock", sock)
    v.wait_sock(sock)
    a = v.api
    assert a("PUT", "/boot-source", {"kernel_image_path": str(guest(isola, "count"))})[0] == 204
    assert a("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": True})[0] == 204
    assert a("GET", "/machine-config")[1] == {"vcpu_count": 1, "mem_size_mib": 64, "smt": False,
                                              "track_dirty_pages": True, "huge_pages": "None"}
    assert a("PUT", "/actions", {"action_type": "InstanceStart"})[0] == 204
    v.wait_count(2)
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    st, err = snap(a, tmp_path, "s0.state", "d0.mem", "Diff")
    assert st == 400 and "take a Full snapshot first" in err["fault_message"], err
    assert snap(a, tmp_path, "s1.state", "m1.mem")[0] == 204
    assert a("PATCH", "/vm", {"state": "Resumed"})[0] == 204
    v.wait_count(v.counts()[-1] + 3)
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    time.sleep(0.2)
    at2 = v.text()
    assert snap(a, tmp_path, "s2.state", "d2.mem", "Diff")[0] == 204
    d2 = (tmp_path / "d2.mem").stat()
    assert d2.st_size == 64 << 20, "a Diff's memory file has the memory's size"
    assert d2.st_blocks * 512 < 4 << 20, f"but holds only the pages written: {d2.st_blocks * 512} bytes"
    (tmp_path / "m2.mem").write_bytes((tmp_path / "m1.mem").read_bytes())
    r = rebase(isola, tmp_path / "m2.mem", tmp_path / "d2.mem")
    assert r.returncode == 0, r.stderr
    # a Diff written straight onto a copy of the last whole memory file
    (tmp_path / "m3.mem").write_bytes((tmp_path / "m2.mem").read_bytes())
    assert a("PATCH", "/vm", {"state": "Resumed"})[0] == 204
    v.wait_count(v.counts()[-1] + 3)
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    time.sleep(0.2)
    at3 = v.text()
    assert snap(a, tmp_path, "s3.state", "m3.mem", "Diff")[0] == 204
    v.stop()
    for state, mem, at, name in (("s2.state", "m2.mem", at2, "r2"), ("s3.state", "m3.mem", at3, "r3")):
        r = Vmm(isola, tmp_path, "--restore", tmp_path / state, "--mem-file", tmp_path / mem, name=name)
        r.wait_count(last_count(at) + 2)
        assert continues(at, r.text()), (name, r.text()[:300])
        r.stop()
    # bad merges are refused with the reason
    r = rebase(isola, tmp_path / "s1.state", tmp_path / "d2.mem")
    assert r.returncode == 1 and "the same machine's memory" in r.stderr, r.stderr
    r = rebase(isola, tmp_path / "m2.mem", tmp_path / "none")
    assert r.returncode == 1 and "--diff-file: cannot open" in r.stderr, r.stderr


def test_a_restored_vm_tracks_from_its_snapshot_and_keeps_its_memory_file(isola, tmp_path, booted):
    a = booted.api
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    st, err = snap(a, tmp_path, "x.state", "x.mem", "Diff")
    assert st == 400 and "track_dirty_pages" in err["fault_message"], err
    assert snap(a, tmp_path, "s.state", "s.mem")[0] == 204
    snapped = booted.text()
    booted.stop()
    v = loaded(isola, tmp_path, "r", tmp_path / "s.state", tmp_path / "s.mem", track_dirty_pages=True)
    v.wait_count(last_count(snapped) + 2)
    assert v.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
    before = (tmp_path / "s.mem").read_bytes()
    # the file its memory is mapped from (copy-on-write) is not written over
    for kind in ("Full", "Diff"):
        st, err = snap(v.api, tmp_path, "t.state", "s.mem", kind)
        assert st == 400 and "is the file this VM's memory was restored from" in err["fault_message"], err
    assert (tmp_path / "s.mem").read_bytes() == before
    # a Diff right after a load is relative to the loaded snapshot
    assert snap(v.api, tmp_path, "t.state", "t.diff", "Diff")[0] == 204
    time.sleep(0.2)
    at = v.text()
    v.stop()
    (tmp_path / "t.mem").write_bytes(before)
    assert rebase(isola, tmp_path / "t.mem", tmp_path / "t.diff").returncode == 0
    r = Vmm(isola, tmp_path, "--restore", tmp_path / "t.state", "--mem-file", tmp_path / "t.mem", name="t")
    r.wait_count(last_count(at) + 2)
    assert continues(at, r.text()), r.text()[:300]
    r.stop()


def test_ten_clones_from_one_snapshot(booted, isola, tmp_path):
    a = booted.api
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                         "mem_file_path": str(tmp_path / "s.mem")})[0] == 204
    base = booted.counts()[-1]
    snapped = booted.text()
    parent = booted.gens()
    assert len(parent) == 1 and parent[0] != "0" * 16, "a booted VM has one generation ID"
    booted.stop()
    clones = [Vmm(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem",
                  name=f"clone{i}") for i in range(10)]
    try:
        for c in clones:
            c.wait_count(base + 1, timeout=60)
            assert continues(snapped, c.text()), c.text()[:300]
        # each clone has a generation ID of its own (its kernel would reseed)
        gens = [c.gens()[-1] for c in clones]
        assert len(set(gens)) == 10 and parent[0] not in gens, (parent, gens)
        # the memory file is shared, never written: each clone's pages are its own
        assert (tmp_path / "s.mem").stat().st_size == 64 << 20
    finally:
        for c in clones:
            c.stop()


def test_config_file_boots_the_guest(isola, tmp_path):
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({"boot-source": {"kernel_image_path": str(guest(isola, "count"))},
                               "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}}))
    v = Vmm(isola, tmp_path, "--config-file", cfg, "--no-api")
    v.wait_count(1)
    v.stop()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"machine-config": {"vcpu_count": 1, "mem_size_mib": 1}}))
    r = subprocess.run([isola.bin("isola-vmm"), "--config-file", bad], capture_output=True, text=True)
    assert r.returncode == 2 and "machine-config" in r.stderr and "mem_size_mib" in r.stderr
    bad.write_text(json.dumps({"boot-source": {}, "nope": {}}))
    r = subprocess.run([isola.bin("isola-vmm"), "--config-file", bad], capture_output=True, text=True)
    assert r.returncode == 2 and ("nope" in r.stderr or "kernel_image_path" in r.stderr)


def test_bad_snapshot_files_are_refused(booted, isola, tmp_path):
    a = booted.api
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                         "mem_file_path": str(tmp_path / "s.mem")})[0] == 204
    booted.stop()
    good = (tmp_path / "s.state").read_bytes()
    for name, data, says in [("junk", b"hello world" * 10, "not an isola-vmm snapshot"),
                             ("cut", good[:len(good) // 2], "truncated"),
                             ("future", good[:8] + b"\x63\x00\x00\x00" + good[12:], "format 99")]:
        (tmp_path / name).write_bytes(data)
        r = subprocess.run([isola.bin("isola-vmm"), "--restore", tmp_path / name, "--mem-file", tmp_path / "s.mem"],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode in (1, 2) and says in r.stderr, (name, r.stderr)
    r = subprocess.run([isola.bin("isola-vmm"), "--restore", tmp_path / "s.state"], capture_output=True, text=True)
    assert r.returncode == 2 and "--mem-file" in r.stderr
    # a memory file shorter than the machine would fault: refused up front
    (tmp_path / "short.mem").write_bytes((tmp_path / "s.mem").read_bytes()[:1 << 20])
    r = subprocess.run([isola.bin("isola-vmm"), "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "short.mem"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "the memory file holds 1048576 bytes" in r.stderr, r.stderr
    # the snapshot brings its devices: flags for others are refused
    r = subprocess.run([isola.bin("isola-vmm"), "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem",
                        "--rng"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "--restore brings the snapshot's kernel and devices" in r.stderr, r.stderr


def test_metrics_lines_on_flush_and_exit(isola, tmp_path):
    sock, path = tmp_path / "api.sock", tmp_path / "metrics.json"
    v = Vmm(isola, tmp_path, "--api-sock", sock)
    v.wait_sock(sock)
    a = v.api
    st, err = a("PUT", "/actions", {"action_type": "FlushMetrics"})
    assert st == 400 and "PUT /metrics" in err["fault_message"]
    assert a("PUT", "/metrics", {"metrics_path": str(path)})[0] == 204
    assert a("PUT", "/boot-source", {"kernel_image_path": str(guest(isola, "count"))})[0] == 204
    assert a("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})[0] == 204
    assert a("PUT", "/actions", {"action_type": "InstanceStart"})[0] == 204
    v.wait_count(2)
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert a("PATCH", "/vm", {"state": "Resumed"})[0] == 204
    assert a("PUT", "/actions", {"action_type": "FlushMetrics"})[0] == 204
    line = json.loads(path.read_text().splitlines()[-1])
    assert line["vcpu"]["exit_io_out"] > 0 and line["uart"]["write_count"] > 0
    assert line["vmm"]["pauses"] == 1 and line["vmm"]["resumes"] == 1
    assert line["api_server"]["requests"] >= 6 and line["api_server"]["errors"] == 1
    assert line["utc_timestamp_ms"] > 1.7e12
    v.stop()
    lines = path.read_text().splitlines()
    assert len(lines) == 2, "one more line at exit"
    assert json.loads(lines[-1])["uart"]["write_count"] >= line["uart"]["write_count"]
    # every group and metric written is described
    described = json.loads(subprocess.run([isola.bin("isola-vmm"), "--describe-metrics"], capture_output=True,
                                          text=True, check=True).stdout)
    for group, values in line.items():
        if group != "utc_timestamp_ms":
            assert set(values) <= set(described[group]), group


def rounds(text):
    return [int(n) for n in re.findall(r"vloop: round (\d+) ok", text)]


def unix_echo(path):
    """A host program behind the guest's vsock port: echoes every line."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen()

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=c: [c.sendall(d) for d in iter(lambda: c.recv(4096), b"")],
                             daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_virtio_devices_go_on_after_a_restore_in_a_new_process(isola, tmp_path):
    """rng, a disk and vsock, set up once by the guest before the snapshot,
    work after it on the same queues; the guest's vsock connection is reset
    (the host end stayed with the old process) and it connects again."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    uds = tmp_path / "v.sock"
    echo = unix_echo(f"{uds}_1234")
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--kernel", guest(isola, "vloop"), "--rng", "--disk", disk, "--vsock",
            f"cid=9,uds={uds}", "--api-sock", sock)
    try:
        v.wait_sock(sock)
        out = lambda: open(tmp_path / "vmm.out").read()
        wait_for(lambda: len(rounds(out())) >= 5, "the guest did not go round")
        assert "vloop: vsock echo ok 'hello before" in out()
        assert v.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        st = v.api("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                               "mem_file_path": str(tmp_path / "s.mem")})
        assert st[0] == 204, st
        cfg = v.api("GET", "/vm/config")[1]
        assert cfg["drives"][0]["path_on_host"] == str(disk) and cfg["vsock"]["guest_cid"] == 9
        snapped = out()
        assert v.stop() == 128 + 15
        r = Vmm(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem", name="r")
        rout = lambda: open(tmp_path / "r.out").read()
        wait_for(lambda: len(rounds(rout())) >= 10, "the restored guest did not go round: " + rout()[-300:])
        # the pause may fall inside a line, which the restored guest finishes: read the two as one
        before, joined = rounds(snapped), rounds(snapped + rout())
        assert len(joined) >= len(before) + 10 and joined == list(range(1, len(joined) + 1)), joined[len(before) - 3:]
        assert "isola-test: vloop" not in rout(), "it did not boot again"
        assert "FAILED" not in rout()
        wait_for(lambda: "vloop: vsock echo ok 'hello after" in rout(), "vsock after the reset: " + rout()[-300:])
        assert "vloop: vsock event 0 (transport reset)" in rout()
        # the disk is the restored guest's: its latest round is on sector 1
        r.stop()
        assert disk.read_bytes()[512:512 + 12] == b"vloop round "
        n = int(disk.read_bytes()[524:540].split(b"\0")[0])
        assert n >= rounds(rout())[-1]
    finally:
        echo.close()
        for vmm in (v, locals().get("r")):
            if vmm and vmm.p.poll() is None:
                vmm.stop()


def test_a_diff_snapshot_carries_what_the_devices_wrote(isola, tmp_path):
    """A Full snapshot, rounds of rng and disk I/O, a Diff, merged: the
    restored guest goes on round after round on the same queues.  (That the
    pages the devices write are in a Diff, which KVM's log cannot see, is
    checked directly in the unit tests.)"""
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--kernel", guest(isola, "vloop"), "--rng", "--disk", disk, "--track-dirty-pages",
            "--api-sock", sock)
    out = lambda: open(tmp_path / "vmm.out").read()
    try:
        v.wait_sock(sock)
        wait_for(lambda: len(rounds(out())) >= 3, "the guest did not go round")
        assert v.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        assert snap(v.api, tmp_path, "s1.state", "m1.mem")[0] == 204
        assert v.api("PATCH", "/vm", {"state": "Resumed"})[0] == 204
        at = rounds(out())[-1]
        wait_for(lambda: rounds(out())[-1] >= at + 5, "the guest stopped")
        assert v.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        assert snap(v.api, tmp_path, "s2.state", "d2.mem", "Diff")[0] == 204
        snapped = out()
        v.stop()
        assert rebase(isola, tmp_path / "m1.mem", tmp_path / "d2.mem").returncode == 0
        r = Vmm(isola, tmp_path, "--restore", tmp_path / "s2.state", "--mem-file", tmp_path / "m1.mem", name="r")
        rout = lambda: open(tmp_path / "r.out").read()
        wait_for(lambda: len(rounds(rout())) >= 5, "the restored guest did not go round: " + rout()[-300:])
        joined = rounds(snapped + rout())
        assert joined == list(range(1, len(joined) + 1)), joined[-12:]
        assert "FAILED" not in rout(), rout()[-300:]
        r.stop()
    finally:
        for vmm in (v, locals().get("r")):
            if vmm and vmm.p.poll() is None:
                vmm.stop()


def test_network_overrides_move_a_restored_nic_to_another_tap(isola, tmp_path, netns):
    for tap in ("isltapA", "isltapB"):
        netns.run(["ip", "tuntap", "add", tap, "mode", "tap"], check=True)
        netns.run(["ip", "link", "set", tap, "up"], check=True)
    sock = tmp_path / "api.sock"
    v = netns.popen([isola.bin("isola-vmm"), "--kernel", guest(isola, "vloop"), "--net",
                     "tap=isltapA,mac=06:00:00:00:00:07", "--api-sock", sock],
                    stdout=open(tmp_path / "a.out", "w"), stderr=subprocess.PIPE, text=True)
    out = lambda: open(tmp_path / "a.out").read()
    wait_for(lambda: len(rounds(out())) >= 3, "the guest did not go round")
    api = Api(sock)
    assert api("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert api("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                           "mem_file_path": str(tmp_path / "s.mem")})[0] == 204
    v.terminate()
    v.wait(timeout=20)
    sock2 = tmp_path / "api2.sock"
    r = netns.popen([isola.bin("isola-vmm"), "--api-sock", sock2], stdout=open(tmp_path / "b.out", "w"),
                    stderr=subprocess.PIPE, text=True)
    peer = netns.popen(["python3", os.path.join(os.path.dirname(__file__), "harness", "netpeer.py"), "isltapB"],
                       stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout.readline().strip() == "ready"
        wait_for(sock2.exists, "no API socket")
        api2 = Api(sock2)
        load = {"snapshot_path": str(tmp_path / "s.state"),
                "mem_backend": {"backend_type": "File", "backend_path": str(tmp_path / "s.mem")},
                "resume_vm": True}
        st, err = api2("PUT", "/snapshot/load", {**load, "network_overrides": [
            {"iface_id": "eth9", "host_dev_name": "isltapB"}]})
        assert st == 400 and "network_overrides[0].iface_id" in err["fault_message"] and "eth9" in err["fault_message"]
        assert api2("GET", "/")[1]["state"] == "Not started", "a refused load changes nothing"
        st = api2("PUT", "/snapshot/load", {**load, "network_overrides": [
            {"iface_id": "eth0", "host_dev_name": "isltapB"}]})
        assert st[0] == 204, st
        line = peer.stdout.readline().strip()
        assert line.startswith("got vloop round") and line.endswith("from 06:00:00:00:00:07"), line
        assert api2("GET", "/vm/config")[1]["network-interfaces"] == [
            {"iface_id": "eth0", "host_dev_name": "isltapB", "guest_mac": "06:00:00:00:00:07"}]
    finally:
        peer.kill()
        peer.wait()
        r.terminate()
        r.wait(timeout=20)


def test_patch_after_boot_moves_a_drive_to_another_image(isola, tmp_path):
    a_img, b_img = tmp_path / "a.img", tmp_path / "b.img"
    for p in (a_img, b_img):
        p.write_bytes(bytes(1 << 20))
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--kernel", guest(isola, "vloop"), "--disk", f"{a_img},id=data", "--api-sock", sock)
    try:
        v.wait_sock(sock)
        out = lambda: open(tmp_path / "vmm.out").read()
        wait_for(lambda: len(rounds(out())) >= 3, "the guest did not go round")
        for url, body, says in [
                ("/drives/other", {"drive_id": "other", "path_on_host": str(b_img)}, "no drive `other`"),
                ("/drives/data", {"drive_id": "data", "path_on_host": str(tmp_path / "none")}, "path_on_host: cannot open"),
                ("/drives/data", {"drive_id": "data", "rate_limiter": {"ops": {"size": 1}}},
                 "rate_limiter.ops.refill_time: must be more than 0"),
                ("/drives/data", {"drive_id": "data", "is_read_only": True}, "unknown field `is_read_only`"),
                ("/network-interfaces/eth0", {"iface_id": "eth0"}, "no network interface `eth0`")]:
            st, err = v.api("PATCH", url, body)
            assert st == 400 and says in err["fault_message"], (url, err)
        st = v.api("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": str(b_img)})
        assert st[0] == 204, st
        at = rounds(out())[-1]
        wait_for(lambda: rounds(out())[-1] > at + 3, "the guest stopped after the drive moved")
        # the round that wrote to one image and read back from the other fails; no other
        assert out().count("FAILED") <= 1, out()
        assert b_img.read_bytes()[512:524] == b"vloop round ", "the guest now writes to the new image"
        before = a_img.read_bytes()
        time.sleep(0.3)
        assert a_img.read_bytes() == before, "and no longer to the old one"
        assert v.api("GET", "/vm/config")[1]["drives"][0]["path_on_host"] == str(b_img)
    finally:
        v.stop()


def curl(sock, method, url, body):
    """The getting-started guide's way: curl -X METHOD --unix-socket S --data BODY."""
    r = subprocess.run(["curl", "-sS", "-X", method, "--unix-socket", str(sock), "--data", body,
                        "-o", "/dev/stderr", "-w", "%{http_code}", f"http://localhost/{url}"],
                       capture_output=True, text=True, timeout=30)
    return int(r.stdout), r.stderr


def test_the_getting_started_guide_with_curl(isola, tmp_path, netns):
    """Firecracker's getting-started and snapshotting guides, their curl
    commands unchanged but for the files: logger, boot-source, a root
    drive, a NIC on a tap, InstanceStart; then pause, a Full snapshot to
    ./snapshot_file and ./mem_file, and a load with resume_vm false
    followed by PATCH /vm Resumed."""
    netns.run(["ip", "tuntap", "add", "isltapG", "mode", "tap"], check=True)
    netns.run(["ip", "link", "set", "isltapG", "up"], check=True)
    rootfs = tmp_path / "rootfs.ext4"
    rootfs.write_bytes(bytes(1 << 20))
    (tmp_path / "firecracker.log").touch()
    sock = tmp_path / "firecracker.socket"
    vm = netns.popen([isola.bin("isola-vmm"), "--api-sock", sock], cwd=tmp_path, stdout=open(tmp_path / "a.out", "w"),
                     stderr=subprocess.PIPE, text=True)
    out = lambda name: open(tmp_path / name).read()
    try:
        wait_for(sock.exists, "no API socket")
        kernel = guest(isola, "vloop")
        steps = [
            ("PUT", "logger", json.dumps({"level": "Debug", "log_path": str(tmp_path / "firecracker.log"),
                                          "show_level": True, "show_log_origin": True})),
            ("PUT", "boot-source", json.dumps({"kernel_image_path": str(kernel),
                                               "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"})),
            ("PUT", "machine-config", '{"vcpu_count": 1, "mem_size_mib": 128}'),
            ("PUT", "drives/rootfs", json.dumps({"drive_id": "rootfs", "path_on_host": str(rootfs),
                                                 "is_root_device": True, "is_read_only": False})),
            ("PUT", "network-interfaces/net1", json.dumps({"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02",
                                                           "host_dev_name": "isltapG"})),
            ("PUT", "actions", '{"action_type": "InstanceStart"}')]
        for method, url, body in steps:
            code, resp = curl(sock, method, url, body)
            assert code == 204, (url, resp)
        wait_for(lambda: len(rounds(out("a.out"))) >= 3, "the guest did not go round")
        assert "net" in out("a.out") and "blk" in out("a.out")
        code, resp = curl(sock, "PATCH", "vm", '{"state": "Paused"}')
        assert code == 204, resp
        code, resp = curl(sock, "PUT", "snapshot/create",
                          '{"snapshot_type": "Full", "snapshot_path": "./snapshot_file", "mem_file_path": "./mem_file"}')
        assert code == 204, resp
        assert (tmp_path / "snapshot_file").exists() and (tmp_path / "mem_file").stat().st_size == 128 << 20
    finally:
        vm.terminate()
        vm.wait(timeout=20)
    sock2 = tmp_path / "firecracker2.socket"
    vm2 = netns.popen([isola.bin("isola-vmm"), "--api-sock", sock2], cwd=tmp_path, stdout=open(tmp_path / "b.out", "w"),
                      stderr=subprocess.PIPE, text=True)
    try:
        wait_for(sock2.exists, "no API socket")
        code, resp = curl(sock2, "PUT", "snapshot/load",
                          '{"snapshot_path": "./snapshot_file", "mem_backend": {"backend_path": "./mem_file", '
                          '"backend_type": "File"}, "enable_diff_snapshots": true, "resume_vm": false}')
        assert code == 204, resp
        time.sleep(0.3)
        assert rounds(out("b.out")) == [], "loaded paused"
        code, resp = curl(sock2, "PATCH", "vm", '{"state": "Resumed"}')
        assert code == 204, resp
        wait_for(lambda: len(rounds(out("b.out"))) >= 3, "the restored guest did not go round")
        assert "FAILED" not in out("b.out")
    finally:
        vm2.terminate()
        vm2.wait(timeout=20)


def test_a_vsock_the_guest_never_drove_restores_quietly(isola, tmp_path):
    """The transport reset goes only to a running vsock driver: a guest that
    never set the device up had no connections, and no warning is due."""
    sock = tmp_path / "api.sock"
    v = Vmm(isola, tmp_path, "--kernel", guest(isola, "count"), "--memory", "32", "--vsock",
            f"cid=5,uds={tmp_path / 'v.sock'}", "--api-sock", sock)
    v.wait_sock(sock)
    v.wait_count(1)
    assert v.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert v.api("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                             "mem_file_path": str(tmp_path / "s.mem")})[0] == 204
    v.stop()
    r = Vmm(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem", name="r")
    r.wait_count(1)
    r.p.terminate()
    _, err = r.p.communicate(timeout=20)
    assert "vsock" not in err, err


def test_rate_limiters_hold_devices_back_and_change_while_running(isola, tmp_path):
    """Firecracker's token buckets on a drive and on entropy: a guest whose
    disk allows one request per 100 ms and rng 16 bytes a second (a round
    every 20 ms asks for 16) still goes round correctly,
    only waiting (the metrics count each wait); a PATCH lifts the disk's
    limit while it runs, and no request waits after that."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    uds = tmp_path / "v.sock"
    echo = unix_echo(f"{uds}_1234")
    sock, metrics = tmp_path / "api.sock", tmp_path / "metrics.json"
    v = Vmm(isola, tmp_path, "--api-sock", sock)
    try:
        v.wait_sock(sock)
        a = v.api
        one_per_100ms = {"ops": {"size": 1, "refill_time": 100}}
        for url, body in [
                ("/metrics", {"metrics_path": str(metrics)}),
                ("/boot-source", {"kernel_image_path": str(guest(isola, "vloop"))}),
                ("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}),
                ("/drives/d0", {"drive_id": "d0", "path_on_host": str(disk), "is_root_device": False,
                                "rate_limiter": one_per_100ms}),
                ("/entropy", {"rate_limiter": {"bandwidth": {"size": 16, "refill_time": 1000}}}),
                ("/vsock", {"guest_cid": 9, "uds_path": str(uds)})]:
            st = a("PUT", url, body)
            assert st[0] == 204, (url, st)
        st, err = a("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": str(disk),
                                          "rate_limiter": {"bandwidth": {"size": 10}}})
        assert st == 400 and "rate_limiter.bandwidth.refill_time: must be more than 0" in err["fault_message"]
        assert a("PUT", "/actions", {"action_type": "InstanceStart"})[0] == 204
        out = lambda: open(tmp_path / "vmm.out").read()
        wait_for(lambda: len(rounds(out())) >= 4, "the limited guest did not go round: " + out()[-300:], timeout=60)
        assert "FAILED" not in out()
        cfg = a("GET", "/vm/config")[1]
        assert cfg["drives"][0]["rate_limiter"]["ops"] == {"size": 1, "one_time_burst": 0, "refill_time": 100}
        assert cfg["entropy"]["rate_limiter"]["bandwidth"]["size"] == 16

        def flushed():
            assert a("PUT", "/actions", {"action_type": "FlushMetrics"})[0] == 204
            line = json.loads(metrics.read_text().splitlines()[-1])
            return line["block_vda"]["rate_limiter_throttled_events"], line["rng"]["entropy_rate_limiter_throttled"]

        blk, rng = flushed()
        assert blk > 0 and rng > 0, (blk, rng)
        # lift the disk's limit (size 0) while it runs; rng stays limited
        assert a("PATCH", "/drives/d0", {"drive_id": "d0", "rate_limiter": {"ops": {"size": 0}}})[0] == 204
        assert "rate_limiter" not in a("GET", "/vm/config")[1]["drives"][0]
        n = len(rounds(out()))
        wait_for(lambda: len(rounds(out())) >= n + 2, "the guest stopped after the PATCH")
        blk_after, _ = flushed()
        wait_for(lambda: len(rounds(out())) >= n + 5, "the guest stopped after the PATCH")
        blk_later, rng_later = flushed()
        assert blk_later == blk_after, "no disk request waits once the limit is lifted"
        assert rng_later > rng, "rng is still limited"
        assert "FAILED" not in out()
    finally:
        echo.close()
        if v.p.poll() is None:
            v.stop()

"""isola-vmm's Firecracker-style API, pause/resume and snapshots (issue #9),
with the `count` test guest, whose state is a counter in memory that it
prints ("isola-test: count N") as it goes: paused it stops, restored it goes
on from where it was (never from 0), in a new process and in ten clones at
once."""
import json
import re
import socket
import subprocess
import time

import pytest

from harness.vmm import guest


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
        head = f"{method} {url} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        s.sendall(head.encode() + b"Connection: close\r\n\r\n" + data)
        resp = b""
        while chunk := s.recv(65536):
            resp += chunk
        s.close()
        status = int(resp.split(b" ", 2)[1])
        payload = resp.split(b"\r\n\r\n", 1)[1]
        return status, json.loads(payload) if payload.strip() else None


class Vmm:
    def __init__(self, isola, tmp_path, *args, name="vmm"):
        self.sock = tmp_path / f"{name}.sock"
        self.out = open(tmp_path / f"{name}.out", "w+")
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

    def counts(self):
        self.out.flush()
        self.out.seek(0)
        return [int(n) for n in re.findall(r"isola-test: count (\d+)", self.out.read())]

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
    assert st == 200 and cfg["machine-config"] == {"vcpu_count": 2, "mem_size_mib": 64, "smt": False}
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
            ("PUT", "/boot-source", b"{not json", "not a JSON object")]:
        st, err = a(method, url, body)
        assert st == 400 and says in err["fault_message"], (url, err)
    # nothing was half-configured: the machine is as it was
    assert a("GET", "/machine-config")[1] == {"vcpu_count": 1, "mem_size_mib": 128, "smt": False}
    # a NIC put twice under one iface_id is replaced, not added
    for tap in ("tap0", "tap1"):
        assert a("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": tap})[0] == 204
    assert a("GET", "/vm/config")[1]["network-interfaces"] == [{"iface_id": "eth0", "host_dev_name": "tap1"}]
    assert v.stop() == 128 + 15
    assert not sock.exists()


def test_pause_resume_and_snapshot_restore_in_a_new_process(booted, isola, tmp_path):
    a = booted.api
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert a("GET", "/")[1]["state"] == "Paused"
    time.sleep(0.3)
    at_pause = booted.counts()[-1]
    time.sleep(1)
    assert booted.counts()[-1] == at_pause, "a paused guest does not count"
    st, err = a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                            "mem_file_path": str(tmp_path / "s.mem"), "snapshot_type": "Diff"})
    assert st == 400 and "snapshot_type" in err["fault_message"]
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
    sock2 = tmp_path / "api2.sock"
    v2 = Vmm(isola, tmp_path, "--api-sock", sock2, name="restored")
    v2.wait_sock(sock2)
    assert v2.api("PUT", "/snapshot/load", {"snapshot_path": str(tmp_path / "s.state"),
                                            "mem_backend": {"backend_type": "File",
                                                            "backend_path": str(tmp_path / "s.mem")},
                                            "resume_vm": True})[0] == 204
    counts = v2.wait_count(at_pause + 1)
    assert "count start" not in open(tmp_path / "restored.out").read(), "it did not boot again"
    assert counts[0] in (at_pause, at_pause + 1), counts[:3]
    assert v2.api("GET", "/vm/config")[1]["machine-config"]["vcpu_count"] == 2
    v2.stop()
    # ... and from the command line, paused first
    v3 = Vmm(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem",
             "--restore-paused", "--api-sock", tmp_path / "api3.sock", name="cli")
    v3.wait_sock(tmp_path / "api3.sock")
    time.sleep(0.5)
    assert v3.counts() == [] and v3.api("GET", "/")[1]["state"] == "Paused"
    assert v3.api("PATCH", "/vm", {"state": "Resumed"})[0] == 204
    assert v3.wait_count(at_pause)[0] in (at_pause, at_pause + 1)
    v3.stop()


def test_ten_clones_from_one_snapshot(booted, isola, tmp_path):
    a = booted.api
    assert a("PATCH", "/vm", {"state": "Paused"})[0] == 204
    assert a("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s.state"),
                                         "mem_file_path": str(tmp_path / "s.mem")})[0] == 204
    base = booted.counts()[-1]
    booted.stop()
    clones = [Vmm(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file", tmp_path / "s.mem",
                  name=f"clone{i}") for i in range(10)]
    try:
        for c in clones:
            counts = c.wait_count(base + 1, timeout=60)
            assert counts[0] in (base, base + 1)
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

"""isola-vmm's virtio devices (issue #6) driven by the `vio` test guest's own
virtio-mmio driver on real KVM: rng, block (io_uring and synchronous, read-only,
serial, flush), network through a tap inside a namespace the test made, vsock
both ways over Firecracker's Unix-socket scheme, and a guest that corrupts
its ring gets a device to reset while the VMM stays up."""
import os
import socket
import subprocess
import threading
import time

import pytest

from harness.fixtures import run
from harness.vmm import boot, guest, read_until, start, stop

VIO = "vio"


def vio(isola):
    return guest(isola, VIO)


def disk(tmp_path, name="disk.img", marker=b"isola-host-wrote-sector-0", size=8 << 20):
    p = tmp_path / name
    p.write_bytes(marker + b"\0")
    os.truncate(p, size)
    return p


def test_rng_gives_random_bytes_with_interrupts(isola):
    b = boot(isola, vio(isola), "--rng")
    assert b.rc == 0, b.err
    assert "rng: two reads differ, interrupts arrive: ok" in b.out
    assert "isola-test: PASS" in b.out


@pytest.mark.parametrize("io", ["uring", "sync"])
def test_blk_reads_writes_and_identifies_disks(isola, tmp_path, io):
    rw = disk(tmp_path, "rw.img")
    ro = disk(tmp_path, "ro.img")
    before = ro.read_bytes()
    b = boot(isola, vio(isola), "--disk", f"{rw},id=disk-one,io={io}", "--disk", f"{ro},ro,io={io}")
    assert b.rc == 0, b.out + b.err
    assert "blk0: 16384 sectors, read-write, serial 'disk-one'" in b.out
    assert "blk0: sector 0 says 'isola-host-wrote-sector-0'" in b.out
    assert "blk: write, flush, read back: ok" in b.out
    assert "blk1: 16384 sectors, read-only" in b.out
    assert "blk: a write to a read-only disk fails: ok" in b.out
    assert b.out.count("blk: a read past the end fails: ok") == 2
    # With EVENT_IDX the driver kicks only when the device asks through
    # avail_event: this line needs the device to publish it (the bug a review
    # found), and indirect descriptors to be read.
    assert "blk: event index and indirect descriptors: ok" in b.out
    assert "isola-test: PASS" in b.out
    with open(rw, "rb") as f:
        f.seek(512)
        assert f.read(22) == b"isola-guest-wrote-this"
    assert ro.read_bytes() == before


def test_blk_disks_appear_in_order_on_the_command_line_and_dsdt(isola, tmp_path):
    out = tmp_path / "acpi"
    out.mkdir()
    r = run([isola.bin("isola-vmm"), "--kernel", vio(isola), "--disk", disk(tmp_path), "--rng",
             "--dump-acpi", out], timeout=30)
    assert r.returncode == 0, r.stderr
    assert run(["iasl", "-d", "dsdt.dat"], cwd=out).returncode == 0
    dsl = (out / "dsdt.dsl").read_text()
    assert dsl.count('Name (_HID, "LNRO0005")') == 2
    assert "0xD0001000,         // Address Base" in dsl and "0xD0002000,         // Address Base" in dsl
    assert "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )" in dsl
    b = boot(isola, vio(isola), "--disk", disk(tmp_path, "a.img"), "--rng")
    assert "virtio: device 2 at 0xd0001000 irq 5" in b.out
    assert "virtio: device 4 at 0xd0002000 irq 6" in b.out


def test_a_disk_used_by_one_vm_is_refused_to_another(isola, tmp_path):
    d = disk(tmp_path)
    first = start(isola, guest(isola, "hello"), "--disk", d, "--cmdline", "isola.exit=hold")
    try:
        read_until(first, "isola-test: PASS")
        b = boot(isola, vio(isola), "--disk", d)
        assert b.rc == 1
        assert f"disk `{d}` is in use by another VM (its lock is held)" in b.err
        # Read-only users share a disk with each other, never with a writer.
        b = boot(isola, vio(isola), "--disk", f"{d},ro")
        assert b.rc == 1 and "in use by another VM" in b.err
    finally:
        stop(first)
    assert boot(isola, vio(isola), "--disk", f"{d},ro").rc == 0


@pytest.mark.parametrize("flag,value,message", [
    ("--disk", "/nonexistent/disk.img", "cannot open disk `/nonexistent/disk.img`: No such file"),
    ("--disk", "{d},fast", "--disk {d}: unknown option `fast`; use ro, id=NAME or io=uring|sync"),
    ("--disk", "{d},id=abcdefghijklmnopqrstuvwxyz", "is longer than 20 bytes"),
    ("--net", "mac=06:00:00:00:00:01", "--net needs tap=NAME"),
    ("--net", "tap=islx,mac=01:00:00:00:00:01", "is not a unicast"),
    ("--vsock", "cid=2,uds=/tmp/x", "--vsock: cid `2` must be a number from 3 to"),
    ("--vsock", "cid=3", "--vsock needs both cid=N and uds=PATH"),
])
def test_bad_device_flags_say_what_is_wrong(isola, tmp_path, flag, value, message):
    d = disk(tmp_path)
    b = boot(isola, vio(isola), flag, value.format(d=d))
    assert b.rc in (1, 2), b.err
    assert message.format(d=d) in b.err


def test_too_many_devices_are_refused(isola, tmp_path):
    args = []
    for i in range(10):
        args += ["--disk", disk(tmp_path, f"d{i}.img")]
    b = boot(isola, vio(isola), *args)
    assert b.rc == 2
    assert "a VM has at most 9 virtio devices" in b.err


def test_net_frames_cross_a_tap_in_a_test_namespace(isola, netns):
    tap = "isltap0"
    netns.run(["ip", "tuntap", "add", tap, "mode", "tap"], check=True)
    netns.run(["ip", "link", "set", tap, "up"], check=True)
    peer = netns.popen(["python3", os.path.join(os.path.dirname(__file__), "harness", "netpeer.py"), tap],
                       stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout.readline().strip() == "ready"
        vm = netns.run([isola.bin("isola-vmm"), "--kernel", vio(isola), "--net",
                        f"tap={tap},mac=06:00:00:00:00:01"], timeout=60)
        assert "net: mac 06:00:00:00:00:01, link up" in vm.stdout
        assert "net: got 'isola-host-frame'" in vm.stdout, vm.stdout + vm.stderr
        assert "isola-test: PASS" in vm.stdout
        assert peer.stdout.readline().strip() == "got isola-guest-frame from 06:00:00:00:00:01"
    finally:
        peer.kill()
        peer.wait()


def test_net_creates_a_tap_for_the_vm_and_it_goes_with_the_vm(isola, netns):
    vm = netns.popen([isola.bin("isola-vmm"), "--kernel", guest(isola, "hello"), "--net", "tap=isltap9",
                      "--cmdline", "isola.exit=hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
    try:
        read_until(vm, "isola-test: PASS")
        assert netns.run(["ip", "link", "show", "isltap9"]).returncode == 0
    finally:
        stop(vm)
    assert netns.run(["ip", "link", "show", "isltap9"]).returncode != 0


def echo_server(path):
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen()
    srv.settimeout(60)

    def serve():
        c, _ = srv.accept()
        c.sendall(c.recv(100))
        c.close()
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def test_vsock_connects_both_ways_through_unix_sockets(isola, tmp_path):
    uds = tmp_path / "v.sock"
    server = echo_server(f"{uds}_1234")
    vm = start(isola, vio(isola), "--vsock", f"cid=42,uds={uds}")
    try:
        out = read_until(vm, "vsock: listening on port 5000")
        assert "vsock: guest cid 42" in out
        assert "vsock: guest-initiated echo: ok" in out
        server.join(10)
        c = socket.socket(socket.AF_UNIX)
        c.connect(str(uds))
        c.sendall(b"CONNECT 5000\nhello from the host\n")
        f = c.makefile("rb")
        assert f.readline().startswith(b"OK ")
        assert f.readline() == b"HELLO FROM THE HOST\n"
        f.close()
        c.close()  # the guest sees the end of the stream, resets, and powers off
        rest, err = vm.communicate(timeout=60)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
    assert vm.returncode == 0, err
    assert "vsock: host-initiated connection: ok" in rest.decode()
    assert not uds.exists(), "the VMM removes its socket"


def test_vsock_replaces_a_stale_socket_and_refuses_a_live_one(isola, tmp_path):
    uds = tmp_path / "v.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(uds))
    stale.close()  # a socket file nobody listens on, as a killed VMM leaves
    vm = start(isola, guest(isola, "hello"), "--vsock", f"cid=3,uds={uds}", "--cmdline", "isola.exit=hold")
    try:
        read_until(vm, "isola-test: PASS")
        b = boot(isola, guest(isola, "hello"), "--vsock", f"cid=4,uds={uds}")
        assert b.rc == 1
        assert f"cannot create vsock socket `{uds}` (another VM uses it)" in b.err
    finally:
        stop(vm)
    assert not uds.exists()


def test_a_guest_that_corrupts_its_ring_gets_the_device_reset_and_the_vmm_stays_up(isola):
    b = boot(isola, vio(isola), "--rng", "--cmdline", "isola.hostile=1")
    assert b.rc == 0, b.err
    assert "rng: a corrupt ring gets the device NEEDS_RESET: ok" in b.out
    assert "the available index moved by 1000, more than the queue size 16; the device needs a reset" in b.err
    assert "rng: works again after a reset: ok" in b.out
    assert "isola-test: PASS" in b.out


def test_devices_run_on_one_thread_of_their_own(isola, tmp_path):
    vm = start(isola, guest(isola, "hello"), "--rng", "--disk", disk(tmp_path), "--cpus", 2,
               "--cmdline", "isola.exit=hold")
    try:
        read_until(vm, "isola-test: PASS")
        threads = []
        for t in os.listdir(f"/proc/{vm.pid}/task"):
            with open(f"/proc/{vm.pid}/task/{t}/comm") as f:
                threads.append(f.read().strip())
    finally:
        stop(vm)
    assert sorted(t for t in threads if not t.startswith("kvm-")) == ["isola-vmm"] * 3 + ["isola-vmm-dev"]


def test_virtio_console_carries_a_line_each_way_over_its_socket(isola, tmp_path):
    path = tmp_path / "console.sock"
    vm = start(isola, vio(isola), "--virtio-console", path)
    try:
        read_until(vm, "console: waiting for the host")
        c = socket.socket(socket.AF_UNIX)
        c.connect(str(path))
        c.sendall(b"ping from the host\n")
        f = c.makefile("rb")
        assert f.readline() == b"pong: ping from the host\n"
        f.close()
        c.close()
        out, err = vm.communicate(timeout=60)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
    assert vm.returncode == 0, err
    assert "console: got 'ping from the host'" in out.decode()
    assert "console: a line each way: ok" in out.decode()
    assert not path.exists(), "the VMM removes its socket"

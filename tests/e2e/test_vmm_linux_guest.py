"""What users run on isola-vmm, with Debian's stock kernel, isola-init and
Linux's own drivers (issue #20): root disks from `isola image disk` (ext4 and
erofs, read-only below an ext4 overlay, as `isola run --vm` does) and a
writable ext4 root; virtio-net to a peer in a test namespace (ping and TCP
both ways); vsock both ways (the agent, and a connection the guest makes);
rng feeding /dev/hwrng; virtio-console; snapshots of the running guest
(Full, and ten clones); Firecracker's getting-started flow with curl.
Needs VMX or SVM (`hardware_kvm`): here they run in the nested L1
(tests/nested/run), where L2 is TCG under TCG, so every wait is for an event,
with LINUX_TIMEOUT as its bound."""
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from harness.agent import Agent, vsock_uds
from harness.engine import Engine, import_busybox
from harness.fixtures import TOP, run
from harness.vmm import LINUX_TIMEOUT, wait_for
from test_vmm_linux_virtio import isola_initrd, kernel  # noqa: F401 (a fixture)
from test_vmm_snapshot import Api, snap

pytestmark = [pytest.mark.kvm, pytest.mark.slow, pytest.mark.hardware_kvm]

CMDLINE = "console=ttyS0 reboot=k panic=-1 isola.root=/dev/vda"
NET = "isola.ip=10.0.2.2/24 isola.gw=10.0.2.1"
# the VM generation ID's 16 bytes (src/vmm/layout.h LAYOUT_VMGENID, reserved
# in the e820 map, so /dev/mem may read it)
GENID = "dd if=/dev/mem bs=16 skip=$((0xef000 / 16)) count=1 2>/dev/null | od -An -tx1"


@pytest.fixture(scope="module")
def initrd(isola, kernel, tmp_path_factory):  # noqa: F811
    return isola_initrd(isola, kernel, tmp_path_factory.mktemp("initrd"))


@pytest.fixture(scope="module")
def guest_peer(tmp_path_factory):
    out = tmp_path_factory.mktemp("peer") / "guest-peer"
    run(["gcc", "-static", "-O2", "-o", out, TOP / "tests/e2e/harness/guest_peer.c"], check=True)
    return out


@pytest.fixture
def root_img(busybox_rootfs, guest_peer, tmp_path):
    """A writable ext4 root: busybox and guest-peer."""
    tree = tmp_path / "tree"
    run(["cp", "-a", busybox_rootfs, tree], check=True)
    shutil.copy(guest_peer, tree / "bin" / "guest-peer")
    img = tmp_path / "root.img"
    run(["mkfs.ext4", "-q", "-F", "-d", tree, img, "64M"], check=True)
    return img


class VM:
    """isola-vmm with its console and log in files (a pipe nobody reads
    would stop a chatty guest)."""

    def __init__(self, isola, tmp_path, *args, name="vm", ns=None, cwd=None):
        self.out, self.err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        argv = [str(isola.bin("isola-vmm")), *map(str, args)]
        if ns is not None:
            argv = ns.cmd(argv)
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, cwd=cwd)

    def text(self):
        return self.out.read_text(errors="replace")

    def wait_text(self, marker, timeout=LINUX_TIMEOUT):
        end = time.monotonic() + timeout
        while marker not in (t := self.text()):
            if self.p.poll() is not None:
                raise AssertionError(f"isola-vmm exited ({self.p.returncode}) before {marker!r}; console:\n"
                                     f"{t[-4000:]}\nlog:\n{self.err.read_text(errors='replace')[-4000:]}")
            if time.monotonic() > end:
                raise TimeoutError(f"no {marker!r} on the console:\n{t[-4000:]}")
            time.sleep(0.2)
        return t

    def wait(self, timeout=LINUX_TIMEOUT):
        return self.p.wait(timeout=timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def sh(agent, script, stdin=b""):
    """Run a shell script in the guest; its stdout, after checking it exited 0."""
    out, err, status, fail = agent.exec(["/bin/sh", "-c", script], stdin=stdin)
    assert status == 0 and fail is None, (script, out, err, status, fail)
    return out.decode()


def sh_after_restore(agent, script):
    """The first command after a restore.  The restore queues a vsock
    transport reset, and the guest ends its connections when it takes it:
    one made before that (ours, as the VM resumes) may be reset with them.
    A client connects again, as Firecracker's vsock guide says."""
    end = time.monotonic() + LINUX_TIMEOUT
    while True:
        try:
            return sh(agent, script)
        except (EOFError, ConnectionError):
            if time.monotonic() > end:
                raise
            time.sleep(1)


def debugfs_cat(img, path):
    return run(["debugfs", "-R", f"cat {path}", img], check=True).stdout


def wait_sock(path):
    wait_for(path.exists, f"no socket {path}", timeout=LINUX_TIMEOUT)


@pytest.mark.parametrize("fs", ["ext4", "erofs"])
def test_image_disk_root_below_an_overlay(isola, kernel, initrd, busybox_rootfs, state_root, tmp_path, fs):  # noqa: F811
    e = Engine(isola, state_root)
    try:
        import_busybox(e, busybox_rootfs)
        disk = e.ok("image", "disk", "--fs", fs, "busybox").stdout.strip()
    finally:
        e.close()
    overlay = tmp_path / "overlay.img"
    run(["mkfs.ext4", "-q", "-F", overlay, "64M"], check=True)
    uds = tmp_path / "v.sock"
    vm = VM(isola, tmp_path, "--kernel", kernel / "vmlinux", "--initrd", initrd, "--memory", 256,
            "--disk", f"{disk},ro", "--disk", overlay, "--vsock", f"cid=3,uds={uds}",
            "--cmdline", f"{CMDLINE} isola.rootfstype={fs} isola.rootro=1 isola.overlay=/dev/vdb")
    try:
        vm.wait_text("isola-init: ready")
        assert "isola-init: root /dev/vda mounted" in vm.text()
        agent = Agent(vsock_uds(uds))
        # the lower layer is out of sight below the overlay: the kernel says what it mounted
        assert "overlay / overlay rw" in sh(agent, "cat /proc/mounts")
        mounted = {"ext4": "EXT4-fs (vda): mounted filesystem", "erofs": "erofs: (device vda): mounted"}[fs]
        assert mounted in sh(agent, "dmesg")
        # read: the image's files and programs; written: through the overlay
        assert sh(agent, "cat /etc/passwd").startswith("root:x:0:0:")
        assert sh(agent, "/bin/busybox echo ran from the image") == "ran from the image\n"
        sh(agent, "echo written in the vm > /etc/written; sync")
        assert sh(agent, "cat /etc/written") == "written in the vm\n"
        agent.poweroff()
        assert vm.wait() == 0, vm.err.read_text()
    finally:
        vm.kill()
    assert debugfs_cat(overlay, "/upper/etc/written") == "written in the vm\n"


def serve_once(listener, reply):
    """Accept one connection on `listener`: what it sent (to EOF), answered with `reply`."""
    got = {}

    def serve():
        c, _ = listener.accept()
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        c.sendall(reply)
        c.close()
        got["data"] = data

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t, got


NS_TCP = """
import socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "listen":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("10.0.2.1", port)); l.listen(1)
    print("listening", flush=True)
    c, _ = l.accept()
else:
    end = time.monotonic() + 1200
    while True:  # the guest's listener may not be up yet
        try:
            c = socket.create_connection(("10.0.2.2", port), timeout=60); break
        except OSError:
            if time.monotonic() > end: raise
            time.sleep(0.5)
c.sendall(b"from the namespace\\n"); c.shutdown(socket.SHUT_WR)
data = b""
while chunk := c.recv(4096): data += chunk
sys.stdout.write(data.decode()); sys.stdout.flush()
"""


def test_linux_drivers_drive_every_virtio_device(isola, kernel, initrd, root_img, netns, tmp_path):  # noqa: F811
    netns.run(["ip", "tuntap", "add", "isltap0", "mode", "tap"], check=True)
    netns.run(["ip", "addr", "add", "10.0.2.1/24", "dev", "isltap0"], check=True)
    netns.run(["ip", "link", "set", "isltap0", "up"], check=True)
    uds, con = tmp_path / "v.sock", tmp_path / "con.sock"
    vm = VM(isola, tmp_path, "--kernel", kernel / "vmlinux", "--initrd", initrd, "--cpus", 2, "--memory", 256,
            "--disk", root_img, "--net", "tap=isltap0,mac=06:00:00:00:00:02", "--vsock", f"cid=3,uds={uds}",
            "--rng", "--virtio-console", con, "--cmdline", f"{CMDLINE} {NET}", ns=netns)
    try:
        vm.wait_text("isola-init: ready")
        agent = Agent(vsock_uds(uds))
        # virtio-blk: a writable ext4 root, written and read back
        sh(agent, "echo written in the vm > /etc/written; sync")
        assert sh(agent, "cat /etc/written") == "written in the vm\n"
        # virtio-net: ping both ways
        sh(agent, "ping -c 1 -W 30 10.0.2.1")
        assert netns.run(["ping", "-c", "1", "-W", "30", "10.0.2.2"]).returncode == 0
        # TCP, the guest connecting to a peer in the namespace ...
        peer = netns.popen(["/usr/bin/python3", "-c", NS_TCP, "listen", "7002"], stdout=subprocess.PIPE, text=True)
        assert peer.stdout.readline() == "listening\n"
        assert sh(agent, "guest-peer tcp 10.0.2.1 7002 'from the guest\n'") == "from the namespace\n"
        assert peer.communicate(timeout=LINUX_TIMEOUT)[0] == "from the guest\n"
        # ... and the namespace connecting to the guest
        peer = netns.popen(["/usr/bin/python3", "-c", NS_TCP, "connect", "7001"], stdout=subprocess.PIPE, text=True)
        out = sh(agent, "guest-peer listen 7001 'from the guest\n'")
        assert out == "listening\nfrom the namespace\n"
        assert peer.communicate(timeout=LINUX_TIMEOUT)[0] == "from the guest\n"
        assert peer.returncode == 0
        # vsock: the agent is the host connecting; now the guest connects
        # to host port 5000, which is the Unix socket uds_5000
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(f"{uds}_5000")
        listener.listen(1)
        t, got = serve_once(listener, b"from the host\n")
        assert sh(agent, "guest-peer vsock 5000 'from the guest\n'") == "from the host\n"
        t.join(timeout=LINUX_TIMEOUT)
        listener.close()
        assert got["data"] == b"from the guest\n"
        # virtio-rng feeds /dev/hwrng
        assert sh(agent, "cat /sys/class/misc/hw_random/rng_current") == "virtio_rng.0\n"
        a, b = (agent.exec(["/bin/dd", "if=/dev/hwrng", "bs=32", "count=1"])[0] for _ in range(2))
        assert len(a) == 32 and len(b) == 32 and a != b
        # virtio-console: hvc0, a line each way through the host's socket
        c = socket.socket(socket.AF_UNIX)
        c.connect(str(con))
        res = {}
        t = threading.Thread(target=lambda: res.update(
            out=sh(agent, "exec 3<>/dev/hvc0; stty -echo <&3; echo to the host >&3; head -n 1 <&3")))
        t.start()
        seen = b""
        c.settimeout(LINUX_TIMEOUT)
        while b"to the host" not in seen:
            chunk = c.recv(4096)
            assert chunk, f"the console socket closed; it said {seen!r}"
            seen += chunk
        c.sendall(b"to the guest\n")
        t.join(timeout=LINUX_TIMEOUT)
        c.close()
        assert res["out"] == "to the guest\n"
        agent.poweroff()
        assert vm.wait() == 0, vm.err.read_text()
    finally:
        vm.kill()
    assert debugfs_cat(root_img, "/etc/written") == "written in the vm\n"


def boot_with_api(isola, tmp_path, kernel, initrd, disk, uds, track=False, name="vm"):  # noqa: F811
    sock = tmp_path / f"{name}.sock"
    vm = VM(isola, tmp_path, "--api-sock", sock, name=name)
    wait_sock(sock)
    api = Api(sock)
    for method, url, body in [
            ("PUT", "/boot-source", {"kernel_image_path": str(kernel / "vmlinux"), "initrd_path": str(initrd),
                                     "boot_args": CMDLINE}),
            ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "track_dirty_pages": track}),
            ("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": str(disk), "is_root_device": True,
                                       "is_read_only": False}),
            ("PUT", "/vsock", {"guest_cid": 3, "uds_path": str(uds)}),
            ("PUT", "/actions", {"action_type": "InstanceStart"})]:
        assert api(method, url, body)[0] == 204, (url, api(method, url, body))
    vm.wait_text("isola-init: ready")
    return vm, api


def load(isola, tmp_path, state, mem, name, resume=False):
    """A new isola-vmm that loads the snapshot through its API."""
    sock = tmp_path / f"{name}.sock"
    vm = VM(isola, tmp_path, "--api-sock", sock, name=name)
    wait_sock(sock)
    api = Api(sock)
    st = api("PUT", "/snapshot/load", {"snapshot_path": str(state), "resume_vm": resume,
                                       "mem_backend": {"backend_type": "File", "backend_path": str(mem)}})
    assert st[0] == 204, (st, vm.err.read_text())
    return vm, api


def uptime(agent):
    return float(sh(agent, "cat /proc/uptime").split()[0])


def test_snapshot_of_a_running_linux_guest_in_a_new_process(isola, kernel, initrd, root_img, tmp_path):  # noqa: F811
    uds = tmp_path / "v.sock"
    vm, api = boot_with_api(isola, tmp_path, kernel, initrd, root_img, uds)
    try:
        agent = Agent(vsock_uds(uds))
        sh(agent, "echo before the snapshot > /etc/kept; sync")
        before = uptime(agent)
        assert api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        assert snap(api, tmp_path, "s.state", "s.mem")[0] == 204
    finally:
        vm.kill()  # SIGKILL: nothing of the first process helps the second
    vm, api = load(isola, tmp_path, tmp_path / "s.state", tmp_path / "s.mem", "restored")
    try:
        assert api("GET", "/")[1]["state"] == "Paused"
        assert api("PATCH", "/vm", {"state": "Resumed"})[0] == 204
        # the shell answers, the disk is as it was, the clock goes on
        assert sh_after_restore(agent, "cat /etc/kept") == "before the snapshot\n"
        t1 = uptime(agent)
        sh(agent, "sleep 1")
        t2 = uptime(agent)
        assert before <= t1 < t2, (before, t1, t2)
        sh(agent, "echo after the restore > /etc/after; sync")
        assert "count start" not in vm.text() and "Linux version" not in vm.text(), "it did not boot again"
        agent.poweroff()
        assert vm.wait() == 0, vm.err.read_text()
    finally:
        vm.kill()
    assert debugfs_cat(root_img, "/etc/kept") == "before the snapshot\n"
    assert debugfs_cat(root_img, "/etc/after") == "after the restore\n"


def test_ten_clones_of_a_linux_guest_answer_with_their_own_generation_ids(isola, kernel, initrd, root_img,  # noqa: F811
                                                                          tmp_path):
    """Firecracker's way to clone: the snapshot names its disk and vsock
    socket relative to the VMM's directory, and each clone runs in a
    directory of its own with its own copy of the disk."""
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(root_img, base / "root.img")
    sock = tmp_path / "api.sock"
    vm = VM(isola, tmp_path, "--kernel", kernel / "vmlinux", "--initrd", initrd, "--memory", 256,
            "--disk", "root.img", "--vsock", "cid=3,uds=v.sock", "--api-sock", sock, "--cmdline", CMDLINE,
            cwd=base)
    try:
        vm.wait_text("isola-init: ready")
        parent = sh(Agent(vsock_uds(base / "v.sock")), GENID).split()
        assert len(parent) == 16 and parent != ["00"] * 16, parent
        api = Api(sock)
        assert api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        assert snap(api, tmp_path, "s.state", "s.mem")[0] == 204
    finally:
        vm.kill()
    clones = []
    try:
        for i in range(10):
            d = tmp_path / f"clone{i}"
            d.mkdir()
            shutil.copy(base / "root.img", d / "root.img")
            clones.append((d, VM(isola, tmp_path, "--restore", tmp_path / "s.state", "--mem-file",
                                 tmp_path / "s.mem", name=f"clone{i}", cwd=d)))
        gens = []
        for i, (d, c) in enumerate(clones):
            wait_sock(d / "v.sock")
            agent = Agent(vsock_uds(d / "v.sock"))
            gens.append(tuple(sh_after_restore(agent, GENID).split()))
            assert sh(agent, f"echo clone {i} > /etc/me; sync; cat /etc/me") == f"clone {i}\n"
        assert len(set(gens)) == 10 and tuple(parent) not in gens, (parent, gens)
        for d, c in clones:
            Agent(vsock_uds(d / "v.sock")).poweroff()
        for d, c in clones:
            assert c.wait() == 0, c.err.read_text()
    finally:
        for _, c in clones:
            c.kill()
    for i, (d, _) in enumerate(clones):
        assert debugfs_cat(d / "root.img", "/etc/me") == f"clone {i}\n", "each clone writes its own disk"


def curl(sock, method, url, body):
    """Firecracker's getting-started guide: curl -X METHOD --unix-socket S --data BODY."""
    r = subprocess.run(["curl", "-sS", "-X", method, "--unix-socket", str(sock), "--data", body,
                        "-o", "/dev/stderr", "-w", "%{http_code}", f"http://localhost/{url}"],
                       capture_output=True, text=True, timeout=60)
    return int(r.stdout), r.stderr


def test_the_getting_started_guide_with_curl_boots_the_stock_kernel(isola, kernel, initrd, root_img,  # noqa: F811
                                                                    netns, tmp_path):
    netns.run(["ip", "tuntap", "add", "isltapG", "mode", "tap"], check=True)
    netns.run(["ip", "addr", "add", "10.0.2.1/24", "dev", "isltapG"], check=True)
    netns.run(["ip", "link", "set", "isltapG", "up"], check=True)
    sock, uds = tmp_path / "firecracker.socket", tmp_path / "v.sock"
    vm = VM(isola, tmp_path, "--api-sock", sock, ns=netns, cwd=tmp_path)
    try:
        wait_sock(sock)
        steps = [
            ("PUT", "machine-config", '{"vcpu_count": 2, "mem_size_mib": 256}'),
            ("PUT", "boot-source", json.dumps({"kernel_image_path": str(kernel / "vmlinux"),
                                               "initrd_path": str(initrd),
                                               "boot_args": f"console=ttyS0 reboot=k panic=1 pci=off "
                                                            f"isola.root=/dev/vda {NET}"})),
            ("PUT", "drives/rootfs", json.dumps({"drive_id": "rootfs", "path_on_host": str(root_img),
                                                 "is_root_device": True, "is_read_only": False})),
            ("PUT", "network-interfaces/net1", json.dumps({"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02",
                                                           "host_dev_name": "isltapG"})),
            # isola-init serves its agent on vsock (Firecracker's vsock guide)
            ("PUT", "vsock", json.dumps({"guest_cid": 3, "uds_path": "./v.sock"})),
            ("PUT", "actions", '{"action_type": "InstanceStart"}')]
        for method, url, body in steps:
            code, resp = curl(sock, method, url, body)
            assert code == 204, (url, resp)
        vm.wait_text("isola-init: ready")
        assert "isola-init: network 10.0.2.2/24 on eth0" in vm.text()
        assert netns.run(["ping", "-c", "1", "-W", "30", "10.0.2.2"]).returncode == 0
        agent = Agent(vsock_uds(uds))
        assert sh(agent, "cat /sys/class/net/eth0/address") == "06:00:ac:10:00:02\n"
        assert sh(agent, "grep -c ^processor /proc/cpuinfo") == "2\n"
        assert Api(sock)("GET", "/machine-config")[1]["mem_size_mib"] == 256
        agent.poweroff()
        assert vm.wait() == 0, vm.err.read_text()
    finally:
        vm.kill()

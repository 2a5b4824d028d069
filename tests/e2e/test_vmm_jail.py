"""isola-vmm --jail DIR (issue #9), Firecracker's jailer in the VMM: the
jailed VMM runs as the uid/gid given, in the cgroup isola/vmm-ID with the
limits given, in a mount namespace whose root is DIR (only /dev/kvm and
/dev/net/tun in it), in the network namespace given; paths are inside DIR.
The supervising parent passes signals on and removes the cgroup at the
end."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from harness.vmm import guest, wait_for

NOBODY = 65534
CG_MEMORY = Path("/sys/fs/cgroup/memory")


def jail_dir(isola, tmp_path):
    d = tmp_path / "jail"
    d.mkdir()
    shutil.copy(guest(isola, "vloop"), d / "vloop.elf")
    (d / "disk.img").write_bytes(bytes(1 << 20))
    for p in [d, *d.iterdir()]:
        os.chown(p, NOBODY, NOBODY)
    return d


def jailed_env():
    """LeakSanitizer (the sanitize build) reads /proc at exit, and a jail has
    none: leaks are checked by the same code's other tests."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return dict(os.environ, ASAN_OPTIONS=(opts + ":" if opts else "") + "detect_leaks=0")


def children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_a_jailed_vmm_runs_as_nobody_in_its_cgroup_netns_and_root(isola, tmp_path, netns):
    d = jail_dir(isola, tmp_path)
    jid = f"t{os.getpid()}"
    netns.run(["ip", "tuntap", "add", "isltapJ", "mode", "tap", "user", str(NOBODY)], check=True)
    netns.run(["ip", "link", "set", "isltapJ", "up"], check=True)
    peer = netns.popen(["python3", os.path.join(os.path.dirname(__file__), "harness", "netpeer.py"), "isltapJ"],
                       stdout=subprocess.PIPE, text=True)
    out = open(tmp_path / "out", "w+")
    p = subprocess.Popen([isola.bin("isola-vmm"), "--jail", d, "--jail-id", jid, "--jail-uid", str(NOBODY),
                          "--jail-gid", str(NOBODY), "--jail-netns", f"/run/netns/{netns.name}",
                          "--jail-cgroup", ("memory.limit_in_bytes" if CG_MEMORY.is_dir() else "memory.max") + "=268435456",
                          "--kernel", "/vloop.elf", "--rng", "--disk", "/disk.img",
                          "--net", "tap=isltapJ,mac=06:00:00:00:00:09", "--api-sock", "/api.sock"],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, text=True, env=jailed_env())
    try:
        assert peer.stdout.readline().strip() == "ready"
        wait_for(lambda: children(p.pid), "no jailed child")
        child = children(p.pid)[0]
        wait_for(lambda: "vloop: round 3 ok" in open(tmp_path / "out").read(), "the jailed guest did not run")
        status = Path(f"/proc/{child}/status").read_text()
        assert f"Uid:\t{NOBODY}\t{NOBODY}\t{NOBODY}" in status and f"Gid:\t{NOBODY}\t{NOBODY}" in status
        assert "NoNewPrivs:\t1" in status, status
        threads = [Path(f"/proc/{child}/task/{t}/status").read_text() for t in os.listdir(f"/proc/{child}/task")]
        assert any("Seccomp:\t2" in t for t in threads), "the vCPU and device threads are filtered in the jail too"
        assert f":/isola/vmm-{jid}\n" in Path(f"/proc/{child}/cgroup").read_text()
        if CG_MEMORY.is_dir():
            assert (CG_MEMORY / "isola" / f"vmm-{jid}" / "memory.limit_in_bytes").read_text().strip() == "268435456"
        # its own mount namespace, rooted at the jail, with a /dev of two nodes
        assert os.readlink(f"/proc/{child}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        assert os.stat(f"/proc/{child}/ns/net").st_ino == os.stat(f"/run/netns/{netns.name}").st_ino
        assert sorted(os.listdir(f"/proc/{child}/root")) == ["api.sock", "dev", "disk.img", "vloop.elf"]
        assert sorted(os.listdir(f"/proc/{child}/root/dev")) == ["kvm", "net"]
        assert (d / "api.sock").is_socket(), "the API socket is inside the jail"
        # the NIC works from inside the namespace as nobody, the disk is the jail's
        line = peer.stdout.readline().strip()
        assert line.startswith("got vloop round") and line.endswith("from 06:00:00:00:00:09"), line
        assert (d / "disk.img").read_bytes()[512:524] == b"vloop round "
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=20)
        peer.kill()
        peer.wait()
    assert rc == 128 + signal.SIGTERM, p.stderr.read()
    assert not (CG_MEMORY / "isola" / f"vmm-{jid}").exists(), "the parent removed the cgroup"
    assert os.listdir(d / "dev") == [], "the device nodes went with the namespace"


def test_jail_errors_say_what_is_wrong(isola, tmp_path):
    d = jail_dir(isola, tmp_path)
    for args, rc, says in [
            (["--jail-uid", "1"], 2, "go with --jail DIR"),
            (["--jail", tmp_path / "none"], 1, "is not a directory"),
            (["--jail", d, "--jail-cgroup", "nodot=1"], 2, "expected FILE=VALUE"),
            (["--jail", d, "--jail-id", "a/b"], 1, "--jail-id `a/b`"),
            (["--jail", d, "--jail-id", f"e{os.getpid()}", "--jail-cgroup", "memory.nonexistent=1"], 1,
             "--jail-cgroup memory.nonexistent=1"),
            (["--jail", d, "--jail-netns", "/nonexistent"], 1, "--jail-netns: cannot open `/nonexistent`")]:
        r = subprocess.run([isola.bin("isola-vmm"), *map(str, args), "--kernel", "/vloop.elf"],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=jailed_env())
        assert r.returncode == rc and says in r.stderr, (args, r.stderr)
    assert not (CG_MEMORY / "isola" / f"vmm-e{os.getpid()}").exists(), "a failed jail leaves no cgroup"


def test_one_jail_id_runs_one_vmm(isola, tmp_path):
    d = jail_dir(isola, tmp_path)
    jid = f"one{os.getpid()}"
    argv = [isola.bin("isola-vmm"), "--jail", d, "--jail-id", jid, "--kernel", "/vloop.elf", "--rng"]
    first = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=jailed_env())
    try:
        wait_for(lambda: children(first.pid), "no jailed child")
        time.sleep(0.3)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                           env=jailed_env())
        assert r.returncode == 1 and f"jail `{jid}` is in use" in r.stderr, r.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)

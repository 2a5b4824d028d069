"""Fixtures every end-to-end test can use:

  isola           the build under test (binaries, variant)
  state_root      a scratch state root, passed as --root
  netns / netns_factory
                  private network namespaces created for the test
  agent           isola-init's agent run on the host (stands in for a guest)
  busybox_rootfs  a read-only busybox root filesystem, built once a session
  rootfs          a private writable copy of it
  leak check      autouse: fails any test that leaves isola-named processes,
                  mounts, cgroups, links, network namespaces or nft tables
"""
import fcntl
import itertools
import os
import sys
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import agent as agent_proto
from harness import leaks

TOP = Path(__file__).resolve().parents[3]
BINARIES = ("isola", "isola-vmm", "isola-runtime")


def run(args, *, timeout=60, check=False, **kw):
    """subprocess.run with text output captured and a timeout."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(a) for a in args], timeout=timeout, check=check, **kw)


@dataclass
class Build:
    dir: Path
    variant: str

    def bin(self, name):
        return self.dir / {"isola": "src/engine/isola", "isola-vmm": "src/vmm/isola-vmm",
                           "isola-runtime": "src/runtime/isola-runtime"}[name]

    @property
    def sanitized(self):
        return self.variant == "sanitize"


@pytest.fixture(scope="session")
def isola():
    d = Path(os.environ.get("ISOLA_BUILD_DIR", TOP / "build"))
    b = Build(d, os.environ.get("ISOLA_VARIANT", "release"))
    missing = [n for n in BINARIES if not b.bin(n).exists()]
    if missing:
        pytest.exit(f"{', '.join(missing)} not built in {d}: run `make` first", returncode=3)
    return b


@pytest.fixture
def state_root(tmp_path):
    root = tmp_path / "isola-root"
    root.mkdir()
    return root


class NetNS:
    """A named network namespace that the test owns (`ip netns add`)."""
    _seq = itertools.count()

    def __init__(self):
        self.name = f"isola-t{os.getpid()}-{next(self._seq)}"
        run(["ip", "netns", "add", self.name], check=True)
        run(self.cmd(["ip", "link", "set", "lo", "up"]), check=True)

    def cmd(self, args):
        return ["ip", "netns", "exec", self.name] + [str(a) for a in args]

    def run(self, args, **kw):
        return run(self.cmd(args), **kw)

    def popen(self, args, **kw):
        return subprocess.Popen(self.cmd(args), **kw)

    def delete(self):
        run(["ip", "netns", "del", self.name])


@pytest.fixture
def netns_factory():
    made = []

    def make():
        ns = NetNS()
        made.append(ns)
        return ns

    yield make
    for ns in reversed(made):
        ns.delete()


@pytest.fixture
def netns(netns_factory):
    return netns_factory()


def build_busybox_rootfs(dest: Path):
    busybox = shutil.which("busybox") or "/bin/busybox"
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var/tmp", "usr/bin"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin/busybox")
    applets = run([dest / "bin/busybox", "--list"], check=True).stdout.split()
    for a in applets:
        link = dest / "bin" / a
        if not link.exists():
            link.symlink_to("busybox")
    (dest / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (dest / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (dest / "etc/hostname").write_text("busybox\n")
    os.chmod(dest / "tmp", 0o1777)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    dest = tmp_path_factory.mktemp("busybox") / "rootfs"
    dest.mkdir()
    build_busybox_rootfs(dest)
    return dest


@pytest.fixture
def rootfs(busybox_rootfs, tmp_path):
    dest = tmp_path / "rootfs"
    run(["cp", "-a", busybox_rootfs, dest], check=True)
    return dest


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """An open docker-registry on 127.0.0.1 for the whole session."""
    from harness.registry import start_registry
    r = start_registry(tmp_path_factory.mktemp("registry"))
    yield r
    r.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    """A docker-registry behind htpasswd basic auth (harness.registry.USER)."""
    from harness.registry import start_registry
    r = start_registry(tmp_path_factory.mktemp("auth-registry"), auth=True)
    yield r
    r.stop()


@pytest.fixture
def agent(isola, tmp_path):
    """isola-init's agent as a host process: it runs what it is asked to on
    this host, as it would in the guest (ISOLA_VM_AGENT=unix:PATH points the
    engine's --vm containers at it)."""
    sock = tmp_path / "agent.sock"
    init = isola.dir / "guest/init/isola-init"
    p = subprocess.Popen([init, "--agent", f"unix:{sock}"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "isola-init: ready"
    yield sock
    agent_proto.stop(p, sock)


# The leak check is host-wide: it takes any isola-named process, mount or
# link that appeared during a test as the test's, and removes it.  A second
# e2e run at the same time would have its dnsmasq, monitors and containers
# killed under it, so a run holds this lock from start to end; an inner run
# (test_harness.py's, or one in a nested L1) inherits it through the
# environment.
E2E_LOCK = "/run/isola-e2e.lock"
_e2e_lock_fd = None


def pytest_configure(config):
    global _e2e_lock_fd
    if os.environ.get("ISOLA_E2E_LOCK_HELD") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    _e2e_lock_fd = os.open(E2E_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(_e2e_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"e2e: waiting for another e2e run on this host to finish (it holds {E2E_LOCK})",
              file=sys.stderr, flush=True)
        fcntl.flock(_e2e_lock_fd, fcntl.LOCK_EX)
    os.environ["ISOLA_E2E_LOCK_HELD"] = str(os.getpid())


@pytest.fixture(autouse=True)
def leak_check():
    """Fail the test if it leaves isola-named host resources behind, then
    remove exactly those, so the next test starts clean."""
    before = leaks.snapshot()
    yield
    from harness.engine import close_all
    close_all()
    after = leaks.snapshot()
    left = after - before
    if left:
        leaks.restore_host_modes(before)
        leaks.clean(left)
        pytest.fail("test left isola resources behind:\n" + leaks.describe(left), pytrace=False)


def pytest_addoption(parser):
    parser.addoption("--hardware-kvm", choices=("all", "exclude", "only"), default="all",
                     help="tests marked hardware_kvm (they need VMX/SVM): run them with the others "
                          "(all), leave them out (exclude: make check's host run), or run only them "
                          "(only: tests/nested/run, in a nested L1 where the host has no VMX/SVM)")


def pytest_collection_modifyitems(config, items):
    """Tests marked hardware_kvm boot a stock Linux guest, which needs
    VMX/SVM.  --hardware-kvm picks them out or leaves them out (with -m and
    -k as usual beside it); on a host without VMX/SVM (PVM) one that is left
    in is skipped with the reason.  make check runs them through
    tests/nested/run, in a nested L1 with real SVM on such a host."""
    from harness.vmm import host_has_vmx_or_svm
    want = config.getoption("--hardware-kvm")
    if want != "all":
        keep, drop = [], []
        for item in items:
            hw = item.get_closest_marker("hardware_kvm") is not None
            (keep if hw == (want == "only") else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    if host_has_vmx_or_svm():
        return
    skip = pytest.mark.skip(reason="needs VMX/SVM, which this host lacks: tests/nested/run runs "
                                   "it in a nested L1 with SVM (ISOLA_NESTED=1 make check does)")
    for item in items:
        if item.get_closest_marker("hardware_kvm"):
            item.add_marker(skip)


def pytest_report_header(config):
    existing = leaks.snapshot()
    if existing:
        return ["isola resources present before the run (not this run's):",
                leaks.describe(existing)]
    return []


@pytest.fixture
def runtime(isola, state_root):
    from harness.runtime import Runtime
    return Runtime(isola.bin("isola-runtime"), state_root / "runtime")


# This host's cgroups are hybrid (PLATFORM.md).  A private mount namespace
# with the cgroup2 hierarchy mounted on /sys/fs/cgroup looks like a pure v2
# host to the runtime: the v2 code paths then run for real (with only the
# controllers bound to cgroup2 here, hugetlb, but with eBPF device control).
CGROUP2_WRAP = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                'mount -t cgroup2 isola-cgroup2 /sys/fs/cgroup && exec "$@"', "sh"]


@pytest.fixture
def runtime_v2(isola, state_root):
    from harness.runtime import Runtime
    return Runtime(isola.bin("isola-runtime"), state_root / "runtime", wrap=CGROUP2_WRAP)


@pytest.fixture
def bundle(runtime, rootfs, tmp_path):
    """A busybox bundle whose container is force-deleted after the test."""
    from harness.runtime import Bundle
    b = Bundle(runtime, tmp_path / "bundle", rootfs)
    yield b
    runtime("delete", "--force", b.id)

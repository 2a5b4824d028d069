"""Driving the `isola` engine in tests: a state root with a busybox image.

Every Engine runs its commands in a network namespace of its own (rule 5:
bridges, NAT, dnsmasq and ports only where the test made them), entered with
nsenter so that mounts stay in the host's mount namespace.  close() removes
its containers, networks and namespace; the fixtures' leak check finds any
dnsmasq, link or nft table that outlives it."""
import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path


_live = []
_seq = itertools.count()


class Engine:
    def __init__(self, build, root, netns=None):
        self.build = build
        self.root = Path(root)
        self.binary = build.bin("isola")
        self.own_netns = netns is None
        self.netns = netns or f"isola-e{os.getpid()}-{next(_seq)}"
        if self.own_netns:
            subprocess.run(["ip", "netns", "add", self.netns], check=True)
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        _live.append(self)

    def ns_cmd(self, args):
        """argv that runs `args` in this engine's network namespace."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--"] + [str(a) for a in args]

    def argv(self, *args):
        """argv of `isola --root ROOT args` in this engine's namespace."""
        return self.ns_cmd([self.binary, "--root", self.root, *args])

    def close(self):
        if self not in _live:
            return
        _live.remove(self)
        self("rm", "-f", "-a", timeout=120)
        for n in self("network", "ls", "-q").stdout.split():
            self("network", "rm", n)
        if self.own_netns:
            subprocess.run(["ip", "netns", "del", self.netns])

    def host(self, *args, **kw):
        """Run in the host's network namespace (to reach its loopback)."""
        return self(*args, _host=True, **kw)

    def __call__(self, *args, timeout=60, input=None, _host=False, **kw):
        """Run `isola --root ROOT args`; output through temporary files (a
        detached container's monitor must not hold our pipes)."""
        argv = [str(a) for a in (self.binary, "--root", self.root, *args)]
        if not _host:
            argv = self.ns_cmd(argv)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout,
                               input=input.encode() if isinstance(input, str) else input,
                               stdin=None if input is not None else subprocess.DEVNULL, **kw)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, p.returncode, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, f"isola {' '.join(map(str, args))}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def inspect(self, what):
        return json.loads(self.ok("inspect", what).stdout)[0]

    def state(self, what):
        return self.inspect(what)["State"]

    def wait_for(self, what, pred, timeout=20):
        end = time.time() + timeout
        st = None
        while time.time() < end:
            r = self("inspect", what)
            if r.returncode == 0:  # it may not exist yet
                st = json.loads(r.stdout)[0]["State"]
                if pred(st):
                    return st
            time.sleep(0.1)
        raise AssertionError(f"{what}: condition not met; last state {st}")

    def containers_dir(self):
        return self.root / "containers"

    def leftovers(self):
        """Container directories and runtime states still here."""
        left = []
        d = self.containers_dir()
        if d.exists():
            left += [p.name for p in d.iterdir() if p.is_dir()]
        rt = self.root / "run/runtime"
        if rt.exists():
            left += [p.name for p in rt.iterdir()]
        return left

    def describe_leftovers(self):
        """What is left of each container: its files and state, for a test's failure message."""
        lines = []
        for d in (self.containers_dir(), self.root / "run/runtime", self.root / "run/containers"):
            for p in sorted(d.iterdir()) if d.exists() else []:
                files = sorted(str(f.relative_to(p)) for f in p.rglob("*"))[:20]
                lines.append(f"{p}: {files}")
                st = p / "state.json"
                if st.exists():
                    lines.append(f"  state.json: {st.read_text()[:600]}")
        return "\n".join(lines)


def close_all():
    while _live:
        _live[-1].close()


def import_busybox(engine, rootfs, name="busybox"):
    tarball = Path(tempfile.mkdtemp()) / "busybox.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    engine.ok("import", tarball, name)
    tarball.unlink()

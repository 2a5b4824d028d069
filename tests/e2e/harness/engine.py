"""Driving the `isola` engine in tests: a state root with a busybox image."""
import json
import subprocess
import tempfile
import time
from pathlib import Path


class Engine:
    def __init__(self, build, root):
        self.build = build
        self.root = Path(root)
        self.binary = build.bin("isola")

    def __call__(self, *args, timeout=60, input=None, **kw):
        """Run `isola --root ROOT args`; output through temporary files (a
        detached container's monitor must not hold our pipes)."""
        argv = [str(self.binary), "--root", str(self.root), *[str(a) for a in args]]
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


def import_busybox(engine, rootfs, name="busybox"):
    tarball = Path(tempfile.mkdtemp()) / "busybox.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    engine.ok("import", tarball, name)
    tarball.unlink()

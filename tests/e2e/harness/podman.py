"""Podman as a reference client with a store of its own, as
../shared/PLATFORM.md says to run it here: isola-runtime as its runtime
(crun refuses hybrid cgroups), cgroupfs, file events, ulimits within the
hard limits, and --root and --tmpdir in the test's directory and --runroot in a short one
of its own, so that it leaves nothing behind (close() resets and removes
them)."""
import json
import os
import shutil
import tempfile
from pathlib import Path

from harness.fixtures import run

ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


class Podman:
    def __init__(self, isola_build, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True)
        self.env = dict(os.environ, TMPDIR=str(self.dir / "tmp"))
        (self.dir / "tmp").mkdir()
        # podman refuses a runroot path over 50 characters: that one is a
        # short directory of its own, removed with the rest
        self.run = Path(tempfile.mkdtemp(prefix="/tmp/isola-pm"))
        self.base = ["podman", "--root", str(self.dir / "root"), "--runroot", str(self.run),
                     "--tmpdir", str(self.dir / "libpod"), "--runtime", str(isola_build.bin("isola-runtime")),
                     "--cgroup-manager=cgroupfs", "--events-backend=file"]

    def __call__(self, *args, timeout=180, **kw):
        return run(self.base + [str(a) for a in args], timeout=timeout, env=self.env, **kw)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, f"podman {' '.join(map(str, args))}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def build(self, context: Path, dockerfile: str, tag: str):
        """podman build, RUN steps with no network (nothing leaves the host's
        namespaces) and through isola-runtime."""
        (context / "Dockerfile").write_text(dockerfile)
        return self.ok("build", "--network", "none", *ULIMITS, "-t", tag, context, timeout=300)

    def inspect(self, ref):
        return json.loads(self.ok("image", "inspect", ref).stdout)[0]

    def close(self):
        self("system", "reset", "-f")
        shutil.rmtree(self.run, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)

"""Helpers for driving isola-runtime on OCI bundles in tests."""
import json
import subprocess
import tempfile
import uuid
from pathlib import Path


class Runtime:
    def __init__(self, binary, root, wrap=()):
        self.binary = Path(binary)
        self.root = Path(root)
        self.wrap = list(wrap)  # argv prefix, e.g. to run in another mount namespace

    def __call__(self, *args, timeout=60, input=None, **kw):
        """Run the runtime.  Output goes to temporary files, not pipes: a
        container started by `create` or `run --detach` inherits them (as
        with runc) and would hold a pipe open until it exits."""
        argv = [str(a) for a in (*self.wrap, self.binary, "--root", self.root, *args)]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout,
                               input=input.encode() if input is not None else None,
                               stdin=None if input is not None else subprocess.DEVNULL, **kw)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, p.returncode, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, f"{args}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def state(self, cid):
        return json.loads(self.ok("state", cid).stdout)


class Bundle:
    """A bundle directory: rootfs/ plus a config.json made by `spec`."""

    def __init__(self, runtime, path, rootfs):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        runtime.ok("spec", "--bundle", self.path)
        self.config = json.loads((self.path / "config.json").read_text())
        self.config["root"] = {"path": str(rootfs)}
        self.config["process"]["terminal"] = False
        self.id = "isola-t-" + uuid.uuid4().hex[:10]
        self.save()

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def args(self, *argv):
        self.config["process"]["args"] = list(argv)
        return self.save()

    def save(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))
        return self

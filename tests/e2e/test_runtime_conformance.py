"""isola-runtime on the bundles and states a conformance run (or another
runtime's tools) produces: runc's and crun's default specs, a container
whose cgroup is gone, frozen or has children, a config without namespaces."""
import glob
import json
import os
import time
import uuid

import pytest

from harness.fixtures import run


def cgroup_dirs(cid):
    """The container's directory in every hierarchy (v1 ones and unified)."""
    return sorted(glob.glob(f"/sys/fs/cgroup/*/isola/{cid}"))


def wait_until(what, cond, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def foreign_bundle(tool, rootfs, path, *argv):
    """A bundle exactly as `TOOL spec` writes it, but for the command and
    process.terminal (a test has no terminal), with the fixture's rootfs."""
    path.mkdir()
    run([tool, "spec", "--bundle", path], check=True)
    os.rename(rootfs, path / "rootfs")
    cfg = json.loads((path / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(argv)
    (path / "config.json").write_text(json.dumps(cfg))
    return cfg


# CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE: both tools' default sets.
DEFAULT_CAPS = (1 << 29) | (1 << 5) | (1 << 10)


@pytest.mark.parametrize("tool", ["runc", "crun"])
def test_the_default_spec_of_runc_and_crun_runs(runtime, rootfs, tmp_path, tool):
    """Their specs list ambient capabilities that are not inheritable: the
    kernel cannot raise those, and runc and crun skip them."""
    bundle = tmp_path / "bundle"
    cfg = foreign_bundle(tool, rootfs, bundle, "grep", "^Cap", "/proc/self/status")
    caps = cfg["process"]["capabilities"]
    assert caps["ambient"] and not caps.get("inheritable")
    cid = "isola-t-" + uuid.uuid4().hex[:10]
    r = runtime("run", "--bundle", bundle, cid)
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stderr}"
    got = dict(line.split(":") for line in r.stdout.split("\n") if line)
    assert int(got["CapEff"], 16) == DEFAULT_CAPS
    assert int(got["CapPrm"], 16) == DEFAULT_CAPS
    assert int(got["CapBnd"], 16) == DEFAULT_CAPS
    assert int(got["CapInh"], 16) == 0
    assert int(got["CapAmb"], 16) == 0, "only permitted and inheritable ones can be ambient"


def test_ambient_capabilities_that_can_be_raised_are(runtime, bundle):
    caps = bundle.process["capabilities"]
    caps["inheritable"] = ["CAP_KILL"]
    caps["ambient"] = ["CAP_KILL", "CAP_CHOWN"]  # CAP_CHOWN is not inheritable: skipped
    bundle.args("grep", "^CapAmb", "/proc/self/status")
    out = runtime.ok("run", bundle.id, cwd=bundle.path).stdout
    assert int(out.split()[1], 16) == 1 << 5


def test_delete_force_of_a_container_whose_cgroup_is_gone(runtime, bundle):
    bundle.args("sleep", "100")
    runtime.ok("create", "--bundle", bundle.path, bundle.id)
    pid = runtime.state(bundle.id)["pid"]
    dirs = cgroup_dirs(bundle.id)
    assert dirs
    os.kill(pid, 9)
    wait_until("the init to exit", lambda: gone(pid))
    for d in dirs:
        wait_until(f"{d} to empty", lambda: not open(f"{d}/cgroup.procs").read().strip())
        os.rmdir(d)
    r = runtime("delete", "--force", bundle.id)
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stderr}"
    assert runtime("state", bundle.id).returncode != 0

"""isola-runtime on the bundles and states a conformance run (or another
runtime's tools) produces: runc's and crun's default specs, a container
whose cgroup is gone, frozen or has children, a config without namespaces."""
import glob
import os
import time


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

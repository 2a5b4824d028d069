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


@pytest.fixture(params=["v1", "v2"])
def any_runtime(request):
    """The runtime on this host's cgroups (v1 hybrid), and on a cgroup2-only
    view of them (harness.fixtures.CGROUP2_WRAP), where the container's
    cgroup is the unified hierarchy's."""
    return request.getfixturevalue("runtime" if request.param == "v1" else "runtime_v2"), request.param


def make_child_cgroup(parent, rel):
    """mkdir each level; a v1 cpuset cgroup takes no task before its cpus
    and mems are set, so they are copied down."""
    d = parent
    for part in rel.split("/"):
        up, d = d, f"{d}/{part}"
        os.mkdir(d)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if os.path.exists(f"{d}/{knob}"):
                with open(f"{up}/{knob}") as src, open(f"{d}/{knob}", "w") as dst:
                    dst.write(src.read())


def remove_made_cgroup(d):
    """rmdir a cgroup a test made, and its `isola` parent if now empty."""
    if os.path.isdir(d):
        os.rmdir(d)
    try:
        os.rmdir(os.path.dirname(d))
    except OSError:
        pass  # another container's cgroup is in it


def test_a_frozen_cgroup_is_refused_not_waited_on(any_runtime, bundle):
    runtime, layout = any_runtime
    bundle.args("sleep", "100")
    if layout == "v1":
        d, knob, frozen, thawed = f"/sys/fs/cgroup/freezer/isola/{bundle.id}", "freezer.state", "FROZEN", "THAWED"
    else:
        d, knob, frozen, thawed = f"/sys/fs/cgroup/unified/isola/{bundle.id}", "cgroup.freeze", "1", "0"
    os.makedirs(d)
    try:
        with open(f"{d}/{knob}", "w") as f:
            f.write(frozen)
        r = runtime("run", "--detach", "--bundle", bundle.path, bundle.id)
        assert r.returncode != 0
        assert "is frozen" in r.stderr and knob in r.stderr, r.stderr
        assert runtime("state", bundle.id).returncode != 0
        assert os.path.isdir(d), "a cgroup the runtime did not make is not its to remove"
    finally:
        with open(f"{d}/{knob}", "w") as f:
            f.write(thawed)
        runtime("delete", "--force", bundle.id)
        remove_made_cgroup(d)


def test_delete_force_removes_cgroups_made_below_the_containers(any_runtime, bundle):
    """An engine in the container (or the host, here) makes cgroups below
    the container's: their processes are the container's too."""
    runtime, layout = any_runtime
    bundle.args("sh", "-c", "sleep 100 & sleep 100 & wait")
    runtime.ok("run", "--detach", "--bundle", bundle.path, bundle.id)
    dirs = cgroup_dirs(bundle.id) if layout == "v1" else [f"/sys/fs/cgroup/unified/isola/{bundle.id}"]
    top = next(d for d in dirs if "/pids/" in d or "/unified/" in d)

    def procs(d):
        return [int(p) for p in open(f"{d}/cgroup.procs").read().split()]

    wait_until("three processes", lambda: len(procs(top)) == 3)
    moved = [p for p in procs(top) if p != runtime.state(bundle.id)["pid"]][0]
    for d in dirs:
        make_child_cgroup(d, "sub/deeper")
        with open(f"{d}/sub/deeper/cgroup.procs", "w") as f:
            f.write(str(moved))
    assert moved not in procs(top)
    ps = json.loads(runtime.ok("ps", "--format", "json", bundle.id).stdout)
    assert sorted(ps) == sorted(procs(top) + [moved]), "ps lists the processes of sub-cgroups"
    r = runtime("delete", "--force", bundle.id)
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stderr}"
    assert gone(moved)
    assert runtime("state", bundle.id).returncode != 0
    left = [d for d in dirs if os.path.exists(d)]
    assert not left, f"cgroups left: {left}"


def caller_wrap(base):
    """Run the runtime in a mount and uts namespace of its own (the
    "caller's"), recording its mounts before and after, and its hostname:
    what a container without namespaces shares and must leave alone."""
    return ["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c",
            'hostname isola-caller; cat /proc/self/mountinfo > "$0.before"; "$@"; rc=$?; '
            'cat /proc/self/mountinfo > "$0.after"; hostname > "$0.hostname"; exit $rc', str(base)]


def no_namespaces(runtime, bundle, tmp_path):
    from harness.runtime import Runtime
    bundle.linux["namespaces"] = []
    base = tmp_path / "caller"
    return Runtime(runtime.binary, runtime.root, wrap=caller_wrap(base)), base


def assert_caller_untouched(base):
    assert (base.parent / "caller.before").read_text() == (base.parent / "caller.after").read_text(), \
        "the caller's mounts changed"
    assert (base.parent / "caller.hostname").read_text().strip() == "isola-caller"


@pytest.mark.parametrize("drop, refusal", [
    ((), "hostname: setting `isola` needs a uts namespace"),
    (("hostname",), "mounts[0] (`/proc`): needs a mount namespace"),
])
def test_a_config_without_namespaces_is_refused_what_would_change_the_caller(
        runtime, bundle, tmp_path, drop, refusal):
    caller, base = no_namespaces(runtime, bundle, tmp_path)
    for key in drop:
        bundle.config.pop(key)
    bundle.args("true")
    r = caller("run", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1, f"rc={r.returncode}\n{r.stderr}"
    assert refusal in r.stderr, r.stderr
    assert_caller_untouched(base)
    assert runtime("state", bundle.id).returncode != 0


def test_a_config_without_namespaces_runs_in_the_callers(runtime, bundle, tmp_path):
    """As with runc: the container shares every namespace of the caller and
    is only chrooted into its root."""
    caller, base = no_namespaces(runtime, bundle, tmp_path)
    bundle.config.pop("hostname")
    bundle.config["mounts"] = []
    bundle.config["root"]["readonly"] = False
    for key in ("maskedPaths", "readonlyPaths"):
        bundle.linux.pop(key, None)
    bundle.args("sh", "-c", "cat /etc/hostname; hostname; ip -o link")
    r = caller("run", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stderr}"
    lines = r.stdout.splitlines()
    assert lines[0] == "busybox", "the root is the bundle's"
    assert lines[1] == "isola-caller", "the uts namespace is the caller's"
    links = [line.split(":")[1].strip() for line in lines[2:]]
    assert any(name != "lo" for name in links), f"the network is the caller's: {links}"
    assert_caller_untouched(base)


def test_exec_enters_the_root_of_a_container_without_namespaces(runtime, bundle, tmp_path):
    bundle.linux["namespaces"] = []
    bundle.config.pop("hostname")
    bundle.config["mounts"] = []
    bundle.config["root"]["readonly"] = False
    for key in ("maskedPaths", "readonlyPaths"):
        bundle.linux.pop(key, None)
    bundle.args("sleep", "100")
    bundle.save()
    # One caller for every call: the container lives in its namespaces.
    script = ('R="$0 --root $1"; $R create --bundle "$2" "$3" && $R start "$3" && '
              '$R exec "$3" cat /etc/hostname; rc=$?; $R delete --force "$3"; exit $rc')
    r = run(["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", script,
             runtime.binary, runtime.root, bundle.path, bundle.id], timeout=60)
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stderr}"
    assert r.stdout.strip() == "busybox", "exec runs in the container's root"

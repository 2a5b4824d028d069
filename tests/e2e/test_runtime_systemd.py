"""isola-runtime: what an init system in the container needs of the runtime
(issue #19): tmpfs mounts that start with what they cover (`tmpcopyup`, as
Podman's systemd mode asks for), the name=systemd hierarchy joined, and
cgroups the init makes below the container's killed and removed with it."""
import os
import time

import pytest

from harness.runtime import Bundle

SYSTEMD_HIERARCHY = "/sys/fs/cgroup/systemd"


def test_tmpcopyup_fills_the_tmpfs_with_what_it_covers(runtime, bundle, rootfs):
    (rootfs / "seed").mkdir()
    (rootfs / "seed" / "kept").write_text("from the image\n")
    os.chmod(rootfs / "seed" / "kept", 0o640)
    bundle.config["root"]["readonly"] = False
    bundle.config["mounts"].append({"destination": "/seed", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["rw", "nosuid", "nodev", "tmpcopyup"]})
    bundle.args("sh", "-c", "grep ' /seed ' /proc/mounts | cut -d' ' -f3; cat /seed/kept; "
                "stat -c %a /seed/kept; echo new > /seed/kept; cat /seed/kept")
    out = runtime.ok("run", bundle.id, cwd=bundle.path).stdout
    assert out.split("\n")[:4] == ["tmpfs", "from the image", "640", "new"]
    # the tmpfs took a copy: the root under it is unchanged
    assert (rootfs / "seed" / "kept").read_text() == "from the image\n"


def test_tmpcopyup_on_anything_but_tmpfs_is_refused(runtime, bundle, tmp_path):
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(tmp_path),
                                    "options": ["rbind", "tmpcopyup"]})
    bundle.args("true")
    r = runtime("run", bundle.id, cwd=bundle.path)
    assert r.returncode != 0 and "tmpcopyup is only for tmpfs" in r.stderr
    assert runtime("state", bundle.id).returncode != 0


@pytest.mark.skipif(not os.path.isfile("/sys/fs/cgroup/unified/cgroup.procs"), reason="not a hybrid host")
def test_hybrid_cgroup2_is_mounted_only_in_a_cgroup_namespace(runtime, bundle):
    """Without a cgroup namespace /proc/self/cgroup names host paths that
    the bind of the container's own cgroup2 directory lacks (systemd in
    hybrid mode then exits 255): it is left out, as runc does."""
    bundle.args("sh", "-c", "grep -c ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; true")
    assert runtime.ok("run", bundle.id, cwd=bundle.path).stdout.strip() == "0"  # run deletes it at exit
    bundle.linux["namespaces"].append({"type": "cgroup"})
    bundle.args("sh", "-c", "grep -c ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; grep '^0::' /proc/self/cgroup")
    assert runtime.ok("run", bundle.id, cwd=bundle.path).stdout.split() == ["1", "0::/"]


def _in_cgroup_tree(bundle):
    """config.json for a container that, like systemd, makes cgroups below
    its own in a cgroup namespace and moves itself there."""
    bundle.linux["namespaces"].append({"type": "cgroup"})
    for m in bundle.config["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            m["options"] = ["rw", "nosuid", "noexec", "nodev"]
    return bundle


def _wait_file(path, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


@pytest.mark.skipif(not os.path.isdir(SYSTEMD_HIERARCHY + "/"), reason="no name=systemd hierarchy on this host")
def test_container_joins_name_systemd_and_its_sub_cgroups_go_with_it(runtime, bundle, tmp_path):
    _in_cgroup_tree(bundle)
    mark = tmp_path / "ready"
    bundle.config["mounts"].append({"destination": "/mark", "type": "bind", "source": str(tmp_path),
                                    "options": ["rbind"]})
    # two levels below the container's own cgroup, in both hierarchies an
    # init writes to (name=systemd, and cgroup2 on hybrid hosts), as
    # systemd's init.scope and system.slice/*.service
    bundle.args("sh", "-c",
                "for h in systemd unified; do d=/sys/fs/cgroup/$h; [ -e $d/cgroup.procs ] || continue; "
                "mkdir -p $d/system.slice/x.service && echo $$ > $d/system.slice/x.service/cgroup.procs "
                "|| exit 1; done; cat /proc/self/cgroup > /mark/cgroup; touch /mark/ready; exec sleep 1000")
    runtime.ok("run", "--detach", bundle.id, cwd=bundle.path)
    _wait_file(mark)
    host = f"{SYSTEMD_HIERARCHY}/isola/{bundle.id}"
    assert os.path.isdir(f"{host}/system.slice/x.service")
    lines = (tmp_path / "cgroup").read_text().splitlines()
    assert "name=systemd:/system.slice/x.service" in [line.split(":", 1)[1] for line in lines]
    # ps and kill --all find the process two levels down
    pid = runtime.state(bundle.id)["pid"]
    assert str(pid) in runtime.ok("ps", bundle.id).stdout
    runtime.ok("kill", "--all", bundle.id, "KILL")
    end = time.time() + 30
    while runtime.state(bundle.id)["status"] != "stopped" and time.time() < end:
        time.sleep(0.05)
    runtime.ok("delete", bundle.id)
    for top in os.listdir("/sys/fs/cgroup"):
        assert not os.path.exists(f"/sys/fs/cgroup/{top}/isola/{bundle.id}"), top


def test_delete_force_removes_the_cgroups_an_init_made_v2(runtime_v2, rootfs, tmp_path):
    bundle = _in_cgroup_tree(Bundle(runtime_v2, tmp_path / "bundle", rootfs))
    bundle.config["mounts"].append({"destination": "/mark", "type": "bind", "source": str(tmp_path),
                                    "options": ["rbind"]})
    bundle.args("sh", "-c", "mkdir -p /sys/fs/cgroup/init.scope && echo $$ > /sys/fs/cgroup/init.scope/cgroup.procs "
                "&& touch /mark/ready; exec sleep 1000")
    try:
        runtime_v2.ok("run", "--detach", bundle.id, cwd=bundle.path)
        _wait_file(tmp_path / "ready")
        assert str(runtime_v2.state(bundle.id)["pid"]) in runtime_v2.ok("ps", bundle.id).stdout
        runtime_v2.ok("delete", "--force", bundle.id)
        assert runtime_v2("state", bundle.id).returncode != 0
    finally:
        runtime_v2("delete", "--force", bundle.id)

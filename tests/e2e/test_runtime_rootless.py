"""Rootless isola-runtime: an unprivileged user runs containers in a user
namespace, mapping its own ids itself or more through newuidmap/newgidmap,
and without a cgroup when none is delegated to it."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

UID = 4242  # no passwd entry needed, except for newuidmap (see below)


@pytest.fixture
def userdir(busybox_rootfs):
    """A directory the unprivileged user can reach: the rootfs (root-owned,
    world-readable, as an unpacked image is), a bundle and a state root."""
    d = tempfile.mkdtemp(prefix="isola-rootless-")
    os.chmod(d, 0o755)
    subprocess.run(["cp", "-a", str(busybox_rootfs), os.path.join(d, "rootfs")], check=True)
    for sub in ("bundle", "state"):
        os.mkdir(os.path.join(d, sub))
        os.chown(os.path.join(d, sub), UID, UID)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def as_user(argv, wrap=()):
    """Run argv as the unprivileged user.  Output goes through files: a
    detached container inherits them and would hold a pipe open."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run([*wrap, "setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                            "--", *map(str, argv)], stdout=out, stderr=err, timeout=60,
                           stdin=subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read().decode(), err.read().decode()
        return p


class RootlessBundle:
    def __init__(self, isola, d):
        self.rt = isola.bin("isola-runtime")
        self.d = d
        self.bundle = os.path.join(d, "bundle")
        self.id = "isola-t-" + uuid.uuid4().hex[:10]
        r = as_user([self.rt, "spec", "--rootless", "--bundle", self.bundle])
        assert r.returncode == 0, r.stderr
        with open(os.path.join(self.bundle, "config.json")) as f:
            self.config = json.load(f)
        self.config["root"]["path"] = os.path.join(d, "rootfs")
        self.config["process"]["terminal"] = False

    def save(self):
        path = os.path.join(self.bundle, "config.json")
        os.chmod(path, 0o644)
        with open(path, "w") as f:
            json.dump(self.config, f)

    def runtime(self, *args, wrap=()):
        return as_user([self.rt, "--root", os.path.join(self.d, "state"), *args], wrap=wrap)


@pytest.fixture
def rb(isola, userdir):
    b = RootlessBundle(isola, userdir)
    yield b
    b.runtime("delete", "--force", b.id)


def test_rootless_run_maps_the_user_to_root_without_a_cgroup(rb):
    rb.config["process"]["args"] = ["sh", "-c", "id -u; cat /proc/self/uid_map; "
                                    "cat /proc/self/setgroups; exit 5"]
    rb.save()
    r = rb.runtime("run", "--bundle", rb.bundle, rb.id)
    assert r.returncode == 5, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "0" and lines[1:4] == ["0", str(UID), "1"], r.stdout
    assert "deny" in r.stdout  # the kernel's rule for an unprivileged gid map
    assert not any(os.path.exists(f"/sys/fs/cgroup/{c}/isola/{rb.id}") for c in ("pids", "memory"))


def test_rootless_lifecycle_state_kill_delete(rb):
    rb.config["process"]["args"] = ["sleep", "100"]
    rb.save()
    assert rb.runtime("run", "--detach", "--bundle", rb.bundle, rb.id).returncode == 0
    st = json.loads(rb.runtime("state", rb.id).stdout)
    assert st["status"] == "running" and st["owner"] == UID
    ps = rb.runtime("ps", "--format", "json", rb.id)
    assert json.loads(ps.stdout) == [st["pid"]], ps.stdout + ps.stderr
    r = rb.runtime("pause", rb.id)
    assert r.returncode == 1 and "no cgroup" in r.stderr
    assert rb.runtime("kill", rb.id, "KILL").returncode == 0
    assert rb.runtime("delete", "--force", rb.id).returncode == 0
    assert not os.path.exists(os.path.join(rb.d, "state", rb.id))


def test_rootless_limits_need_a_delegated_cgroup(rb):
    rb.config["process"]["args"] = ["true"]
    rb.config["linux"]["resources"] = {"pids": {"limit": 10}}
    rb.save()
    r = rb.runtime("run", "--bundle", rb.bundle, rb.id)
    assert r.returncode == 1
    assert "linux.resources.pids needs a cgroup delegated to uid 4242" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(rb.d, "state", rb.id))


def _subid_files(d):
    """passwd, subuid and subgid that give the user 65536 subordinate ids,
    bound over /etc only in a private mount namespace: the host's files are
    not touched."""
    with open("/etc/passwd") as f:
        passwd = f.read() + f"isolatest:x:{UID}:{UID}::/nonexistent:/bin/sh\n"
    files = {"passwd": passwd, "subuid": f"isolatest:200000:65536\n",
             "subgid": f"isolatest:200000:65536\n"}
    binds = []
    for name, text in files.items():
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)
        if not os.path.exists(f"/etc/{name}"):
            open(f"/etc/{name}", "a").close()  # a bind needs a target; empty is harmless
        binds.append(f"mount --bind {p} /etc/{name}")
    script = " && ".join(binds) + ' && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"]


def test_rootless_several_mappings_go_through_newuidmap(rb):
    rb.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": UID, "size": 1},
                                         {"containerID": 1, "hostID": 200000, "size": 65536}]
    rb.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": UID, "size": 1},
                                         {"containerID": 1, "hostID": 200000, "size": 65536}]
    rb.config["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; "
                                    "touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f"]
    rb.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    rb.save()
    r = rb.runtime("run", "--bundle", rb.bundle, rb.id, wrap=_subid_files(rb.d))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("200000") == 2 and "1000:1000" in r.stdout, r.stdout
    # Without the subordinate ids, newuidmap refuses and the message says where to look.
    rb.id += "-2"
    r = rb.runtime("run", "--bundle", rb.bundle, rb.id)
    assert r.returncode == 1 and "newuidmap" in r.stderr and "/etc/subuid" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(rb.d, "state", rb.id))


def test_rootless_additional_gids_need_mapped_groups(rb):
    rb.config["process"]["user"]["additionalGids"] = [0]
    rb.config["process"]["args"] = ["true"]
    rb.save()
    r = rb.runtime("run", "--bundle", rb.bundle, rb.id)
    assert r.returncode != 0 and "setgroups is denied" in r.stderr, r.stderr

"""Device access control (linux.resources.devices): v1 device lists on this
hybrid host, and the eBPF program of cgroup v2 in a pure-v2 view of it."""
import pytest

FUSE = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666,
        "uid": 0, "gid": 0}
PROBE = "(exec 3</dev/fuse) && echo open-ok || echo open-denied; cat /proc/self/cgroup"


def _devices(bundle, *rules):
    bundle.linux["devices"] = [FUSE]
    bundle.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}, *rules]}
    bundle.args("sh", "-c", PROBE)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_device_without_an_allow_rule_cannot_be_opened(version, runtime, runtime_v2, bundle):
    rt = runtime if version == "v1" else runtime_v2
    _devices(bundle)
    out = rt.ok("run", "--bundle", bundle.path, bundle.id).stdout
    assert "open-denied" in out and "open-ok" not in out, out
    if version == "v2":
        assert f"0::/isola/{bundle.id}" in out, out


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_an_allow_rule_opens_the_device(version, runtime, runtime_v2, bundle):
    rt = runtime if version == "v1" else runtime_v2
    _devices(bundle, {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"})
    out = rt.ok("run", "--bundle", bundle.path, bundle.id).stdout
    assert "open-ok" in out, out


def test_v2_update_replaces_the_device_program(runtime_v2, bundle, tmp_path):
    """All in one mount namespace: create, update, exec, delete."""
    import json
    res = tmp_path / "res.json"
    res.write_text(json.dumps({"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]}))
    _devices(bundle)
    bundle.args("sleep", "100")
    rt = runtime_v2
    script = (f'R="$1"; B="$2"; ID="$3"; '
              f'"$R" --root {rt.root} run --detach --bundle "$B" "$ID" || exit 1; '
              f'"$R" --root {rt.root} exec "$ID" sh -c "(exec 3</dev/fuse) && echo before-ok"; '
              f'"$R" --root {rt.root} update --resources {res} "$ID" || exit 1; '
              f'"$R" --root {rt.root} exec "$ID" sh -c "(exec 3</dev/fuse) && echo after-ok"; '
              f'"$R" --root {rt.root} delete --force "$ID"')
    import subprocess
    from harness.fixtures import CGROUP2_WRAP
    wrap = CGROUP2_WRAP[:-4] + ["sh", "-c",
                                'mount -t cgroup2 isola-cgroup2 /sys/fs/cgroup && ' + script, "sh"]
    p = subprocess.run(wrap + [str(rt.binary), str(bundle.path), bundle.id],
                       capture_output=True, text=True, timeout=60)
    assert "before-ok" not in p.stdout, p.stdout + p.stderr
    assert "after-ok" in p.stdout, p.stdout + p.stderr


def test_v2_without_a_controller_names_the_file(runtime_v2, bundle):
    bundle.linux["resources"] = {"memory": {"limit": 64 << 20}}
    bundle.save()
    r = runtime_v2("run", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1
    assert "memory.max" in r.stderr and "controller" in r.stderr, r.stderr

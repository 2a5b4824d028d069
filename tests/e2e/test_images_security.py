"""Malicious layers from tests/data/layers, served by a real registry and
pulled by isola: each is refused with a message or contained in the layer
directory; nothing appears on the host (issue #5, rule 7)."""
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from harness.fixtures import TOP, run
from harness.registry import build_layout, skopeo_copy

CORPUS = TOP / "tests/data/layers"
REFUSED = {"dotdot": "has a `..` component: refused",
           "dotdot-inner": "has a `..` component: refused",
           "hardlink-absolute": "which the layer does not hold",
           "hardlink-dotdot": "outside the layer: refused",
           "hardlink-via-symlink": "which the layer does not hold",
           "whiteout-dotdot": "is a malformed whiteout"}
SENTINELS = ["/tmp/isola-escape-dotdot", "/isola-escape-inner", "/tmp/isola-escape-absolute",
             "/tmp/isola-escape-symlink", "/tmp/isola-escape-relative",
             "/tmp/isola-escape-overwrite"]


def push_corpus(registry, tmp_path, name):
    layout = tmp_path / name
    build_layout(layout, {("linux", "amd64"): [(CORPUS / f"{name}.tar").read_bytes()]})
    ref = f"{registry.host}/evil/{name}:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--dest-tls-verify=false")
    return ref


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.tar")))
def test_malicious_layer_is_refused_or_contained(isola, registry, tmp_path, name):
    ref = push_corpus(registry, tmp_path, name)
    root = tmp_path / "state"
    p = run([isola.bin("isola"), "--root", root, "pull", "--tls-verify=false", ref])
    for s in SENTINELS:
        assert not os.path.lexists(s), f"{name} wrote {s} on the host"
    if name in REFUSED:
        assert p.returncode == 125 and REFUSED[name] in p.stderr, p.stderr
        assert not list((root / "images/layers").iterdir()), "no half-unpacked layer is kept"
        assert "evil/" not in run([isola.bin("isola"), "--root", root, "images"]).stdout
    elif p.returncode != 0:
        # Symlinks that point out resolve inside the layer; where that finds
        # no directory, the pull stops with the reason.
        assert name.startswith("symlink") and "in the layer" in p.stderr, p.stderr


def test_device_nodes_are_skipped_for_an_unprivileged_user(isola, registry, tmp_path):
    ref = push_corpus(registry, tmp_path, "device")
    # Under /tmp: pytest's own directories are closed to other users.
    root = Path(tempfile.mkdtemp(prefix="/tmp/isola-user-"))
    try:
        os.chown(root, 4242, 4242)
        p = run(["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "--inh-caps=-all",
                 isola.bin("isola"), "--root", root / "state", "pull", "--tls-verify=false", ref],
                env=dict(os.environ, HOME=str(root)))
        assert p.returncode == 0, p.stderr
        assert "device node `dev/sda` in the layer skipped: creating it needs root" in p.stderr
        (layer,) = (root / "state/images/layers").iterdir()
        assert not os.path.lexists(layer / "dev/sda") and not os.path.lexists(layer / "dev/mem")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    # As root the same layer keeps its devices.
    p = run([isola.bin("isola"), "--root", tmp_path / "root-state", "pull", "--tls-verify=false",
             ref])
    assert p.returncode == 0, p.stderr
    (layer,) = (tmp_path / "root-state/images/layers").iterdir()
    assert stat.S_ISBLK(os.lstat(layer / "dev/sda").st_mode)

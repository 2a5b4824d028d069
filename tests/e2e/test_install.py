"""`make install DESTDIR=D` puts the three binaries in D/usr/local/bin."""
import os

from harness.fixtures import BINARIES, TOP, run


def test_make_install_destdir_installs_three_binaries(isola, tmp_path):
    dest = tmp_path / "dest"
    r = run(["make", "-C", TOP, "install", f"BUILD={isola.dir}", f"DESTDIR={dest}"], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in BINARIES:
        path = dest / "usr/local/bin" / name
        assert path.is_file(), f"{path} missing"
        assert os.access(path, os.X_OK)
        v = run([path, "--version"])
        assert v.returncode == 0 and v.stdout.startswith(name)

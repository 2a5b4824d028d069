"""isola pull, push, images, rmi, tag, inspect, import, login/logout and
image prune against Debian's docker-registry on 127.0.0.1, with skopeo and
Podman as the reference clients (issue #5)."""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from harness.fixtures import run
from harness.registry import PASSWORD, USER, build_layout, skopeo_copy

BUSYBOX = open("/bin/busybox", "rb").read()
BASE = [("bin", "dir", None, 0o755), ("bin/busybox", "file", BUSYBOX, 0o755),
        ("bin/sh", "symlink", "busybox", 0o777), ("etc", "dir", None, 0o755),
        ("etc/motd", "file", b"base layer\n", 0o644), ("etc/old", "file", b"x", 0o644),
        ("var/cache", "dir", None, 0o755), ("var/cache/a", "file", b"a", 0o644)]
UPPER = [("etc/motd", "file", b"upper layer\n", 0o600), ("etc/.wh.old", "file", b"", 0o644),
         ("var/cache/.wh..wh..opq", "file", b"", 0o644), ("var/cache/b", "file", b"b", 0o644),
         ("etc/hard", "hardlink", "etc/motd", 0o600)]


def eng(isola_build, root, *args, **kw):
    return run([isola_build.bin("isola"), "--root", root, *args], timeout=kw.pop("timeout", 120),
               **kw)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "state"


@pytest.fixture(scope="module")
def two_layer_image(registry, tmp_path_factory):
    layout = tmp_path_factory.mktemp("layout") / "img"
    build_layout(layout, {("linux", "amd64"): [BASE, UPPER]})
    ref = f"{registry.host}/test/two-layers:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--dest-tls-verify=false")
    return ref


def remote_layers(ref):
    """Layer digests of `ref` as the registry holds it (skopeo may have
    recompressed what the layout had)."""
    raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"]).stdout
    return [layer["digest"] for layer in json.loads(raw)["layers"]]


def layers_of(root, ref, isola_build):
    info = json.loads(eng(isola_build, root, "inspect", ref).stdout)[0]
    man = json.loads((root / "images/blobs/sha256" / info["Digest"][7:]).read_text())
    return [root / "images/layers" / layer["digest"][7:] for layer in man["layers"]]


def test_pull_what_skopeo_pushed_with_whiteouts_and_hardlinks(isola, root, two_layer_image):
    p = eng(isola, root, "pull", "--tls-verify=false", two_layer_image)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", "no progress when stderr is not a terminal"
    image_id = p.stdout.strip()
    assert len(image_id) == 64
    base, upper = layers_of(root, two_layer_image, isola)
    assert (base / "bin/busybox").read_bytes() == BUSYBOX
    assert os.readlink(base / "bin/sh") == "busybox"
    assert (upper / "etc/motd").read_text() == "upper layer\n"
    assert stat.S_IMODE(os.stat(upper / "etc/motd").st_mode) == 0o600
    # Overlay whiteout: a 0/0 character device; opaque directory: the xattr.
    st = os.lstat(upper / "etc/old")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(upper / "var/cache", "trusted.overlay.opaque") == b"y"
    assert os.stat(upper / "etc/hard").st_ino == os.stat(upper / "etc/motd").st_ino
    images = eng(isola, root, "images").stdout
    assert "test/two-layers" in images and image_id[:12] in images


def test_pulled_image_is_the_same_podman_sees(isola, root, two_layer_image):
    p = eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image)
    assert p.returncode == 0, p.stderr
    store = tempfile.mkdtemp(prefix="/tmp/isola-pm")  # podman wants a short runroot
    try:
        pm = run(["podman", "--root", f"{store}/root", "--runroot", f"{store}/run", "pull", "-q",
                  "--tls-verify=false", two_layer_image], timeout=120)
    finally:
        run(["podman", "--root", f"{store}/root", "--runroot", f"{store}/run", "system", "reset",
             "-f"], timeout=60)
        shutil.rmtree(store, ignore_errors=True)
    assert pm.returncode == 0, pm.stderr
    assert pm.stdout.strip() == p.stdout.strip(), "image IDs (config digests) agree"


def test_manifest_list_picks_the_platform(isola, root, registry, tmp_path):
    layout = tmp_path / "multi"
    build_layout(layout, {("linux", "amd64"): [BASE], ("linux", "arm64"): [BASE[:2]]})
    ref = f"{registry.host}/test/multi:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--all", "--dest-tls-verify=false")
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", ref).returncode == 0
    assert json.loads(eng(isola, root, "inspect", ref).stdout)[0]["Architecture"] == "amd64"
    p = eng(isola, root, "pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", ref)
    assert p.returncode == 0, p.stderr
    assert json.loads(eng(isola, root, "inspect", ref).stdout)[0]["Architecture"] == "arm64"
    p = eng(isola, root, "pull", "--tls-verify=false", "--platform", "linux/s390x", ref)
    assert p.returncode == 125
    assert "has no linux/s390x variant (it offers: linux/amd64, linux/arm64)" in p.stderr


def test_corrupted_blob_is_rejected_and_never_visible(isola, root, registry, tmp_path):
    layout = tmp_path / "bad"
    descs = build_layout(layout, {("linux", "amd64"): [[("f", "file", b"x" * 5000, 0o644)]]})
    ref = f"{registry.host}/test/corrupt:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--dest-tls-verify=false")
    layer = remote_layers(ref)[0]
    blob = registry.blob_path(layer)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    p = eng(isola, root, "pull", "--tls-verify=false", ref)
    assert p.returncode == 125
    assert f"blob {layer} does not match its digest" in p.stderr
    assert not (root / "images/blobs/sha256" / layer[7:]).exists()
    assert not (root / "images/ingest" / layer[7:]).exists(), "a bad download is not kept"
    assert "test/corrupt" not in eng(isola, root, "images").stdout


def test_interrupted_pull_resumes_where_it_stopped(isola, root, registry, tmp_path):
    payload = os.urandom(3 << 20)
    layout = tmp_path / "big"
    descs = build_layout(layout, {("linux", "amd64"): [[("big", "file", payload, 0o644)]]},
                         compress=False)
    ref = f"{registry.host}/test/resume:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--dest-tls-verify=false")
    layer = remote_layers(ref)[0][7:]
    whole = registry.blob_path("sha256:" + layer).read_bytes()
    # What a pull killed after 1 MiB leaves behind:
    (root / "images/ingest").mkdir(parents=True)
    (root / "images/ingest" / layer).write_bytes(whole[:1 << 20])
    p = eng(isola, root, "--log-level", "debug", "pull", "--tls-verify=false", ref)
    assert p.returncode == 0, p.stderr
    assert f"resuming sha256:{layer} at byte {1 << 20}" in p.stderr
    assert (root / "images/layers" / layer / "big").read_bytes() == payload


def test_a_pull_killed_midway_leaves_no_half_blob(isola, root, registry, tmp_path):
    layout = tmp_path / "kill"
    build_layout(layout, {("linux", "amd64"): [[("big", "file", os.urandom(32 << 20), 0o644)]]},
                 compress=False)
    ref = f"{registry.host}/test/kill:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--dest-tls-verify=false")
    proc = subprocess.Popen([isola.bin("isola"), "--root", root, "pull", "-q", "--tls-verify=false",
                             ref], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ingest = root / "images/ingest"
    for _ in range(2000):
        if ingest.exists() and any(f.stat().st_size > 0 for f in ingest.iterdir()):
            break
        if proc.poll() is not None:
            break
        os.sched_yield()
    proc.kill()
    proc.wait()
    blobs = root / "images/blobs/sha256"
    for blob in blobs.iterdir() if blobs.exists() else []:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, "visible blobs are whole"
    p = eng(isola, root, "pull", "-q", "--tls-verify=false", ref)
    assert p.returncode == 0, p.stderr


def test_concurrent_pulls_of_one_image_agree(isola, root, two_layer_image):
    results = []

    def pull():
        results.append(eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image))

    threads = [threading.Thread(target=pull) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert len({r.stdout for r in results}) == 1
    assert not list((root / "images/layers").glob("*.tmp-*"))


def test_push_is_read_by_skopeo_and_podman(isola, root, registry, tmp_path, two_layer_image):
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image).returncode == 0
    dest = f"{registry.host}/pushed/by-isola:v2"
    p = eng(isola, root, "push", "--tls-verify=false", two_layer_image, dest)
    assert p.returncode == 0, p.stderr
    info = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{dest}"]).stdout)
    mine = json.loads(eng(isola, root, "inspect", two_layer_image).stdout)[0]
    assert info["Digest"] == mine["Digest"], "the manifest went up byte for byte"
    out = tmp_path / "back"
    skopeo_copy(f"docker://{dest}", f"dir:{out}", "--src-tls-verify=false")
    assert (out / "manifest.json").exists()


def test_tag_rmi_and_prune_keep_shared_content(isola, root, two_layer_image):
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image).returncode == 0
    assert eng(isola, root, "tag", two_layer_image, "localhost/copy:1").returncode == 0
    image_id = json.loads(eng(isola, root, "inspect", two_layer_image).stdout)[0]["Id"]
    by_id = json.loads(eng(isola, root, "inspect", image_id[:12]).stdout)[0]
    assert by_id["Id"] == image_id, "an ID prefix names the image (two names, one image)"
    layers = sorted(p.name for p in (root / "images/layers").iterdir())
    assert eng(isola, root, "rmi", two_layer_image).returncode == 0
    assert sorted(p.name for p in (root / "images/layers").iterdir()) == layers, \
        "still used by localhost/copy:1"
    assert eng(isola, root, "rmi", "localhost/copy:1").returncode == 0
    assert list((root / "images/layers").iterdir()) == []
    assert list((root / "images/blobs/sha256").iterdir()) == []
    p = eng(isola, root, "rmi", "localhost/copy:1")
    assert p.returncode == 125 and "no image `localhost/copy:1` in the store" in p.stderr


def test_import_a_rootfs_tarball(isola, root, tmp_path, busybox_rootfs):
    tarball = tmp_path / "rootfs.tar"
    run(["tar", "-C", busybox_rootfs, "-cf", tarball, "."], check=True)
    p = eng(isola, root, "import", tarball, "localhost/mine:1")
    assert p.returncode == 0, p.stderr
    info = json.loads(eng(isola, root, "inspect", "localhost/mine:1").stdout)[0]
    assert info["Id"] == p.stdout.strip() and len(info["RootFS"]["Layers"]) == 1
    # Compressed tarballs too; the diff_id is the uncompressed tar's digest.
    run(["gzip", "-k", tarball], check=True)
    p = eng(isola, root, "import", tmp_path / "rootfs.tar.gz", "localhost/mine:gz")
    assert p.returncode == 0, p.stderr
    gz = json.loads(eng(isola, root, "inspect", "localhost/mine:gz").stdout)[0]
    assert gz["RootFS"]["Layers"] == info["RootFS"]["Layers"]
    assert gz["RootFS"]["Layers"][0] == "sha256:" + hashlib.sha256(tarball.read_bytes()).hexdigest()
    p = eng(isola, root, "import", tmp_path / "missing.tar")
    assert p.returncode == 125 and "missing.tar" in p.stderr


def test_import_records_history_and_applies_changes(isola, root, tmp_path, busybox_rootfs):
    tarball = tmp_path / "rootfs.tar"
    run(["tar", "-C", busybox_rootfs, "-cf", tarball, "."], check=True)
    p = eng(isola, root, "import", "-c", "ENV PATH=/bin", "--change", 'CMD ["sh"]', "-m", "from a tarball",
            tarball, "localhost/mine:1")
    assert p.returncode == 0, p.stderr
    info = json.loads(eng(isola, root, "inspect", "localhost/mine:1").stdout)[0]
    assert info["Config"] == {"Env": ["PATH=/bin"], "Cmd": ["sh"]}
    diff_id = info["RootFS"]["Layers"][0]
    # one entry for the one layer, as `podman import` writes it; --change
    # sets config only, as with Docker and Podman
    assert info["History"] == [{"created": info["Created"], "comment": "from a tarball",
                                "created_by": f"/bin/sh -c #(nop) ADD file:{diff_id[7:]} in /"}]
    p = eng(isola, root, "import", "-c", "FROB x", tarball, "localhost/mine:2")
    assert p.returncode == 125 and "FROB" in p.stderr


def test_login_pull_and_logout_with_basic_auth(isola, root, auth_registry, tmp_path):
    layout = tmp_path / "private"
    build_layout(layout, {("linux", "amd64"): [BASE[:2]]})
    ref = f"{auth_registry.host}/private/img:1"
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}", "--dest-tls-verify=false",
                f"--dest-creds={USER}:{PASSWORD}")
    p = eng(isola, root, "pull", "--tls-verify=false", ref)
    assert p.returncode == 125 and f"run `isola login {auth_registry.host}`" in p.stderr
    p = eng(isola, root, "login", "--tls-verify=false", "-u", USER, "-p", "wrong",
              auth_registry.host)
    assert p.returncode == 125 and "refused the credentials" in p.stderr
    p = eng(isola, root, "login", "--tls-verify=false", "-u", USER, "--password-stdin",
              auth_registry.host, input=PASSWORD + "\n")
    assert p.returncode == 0 and "Login Succeeded" in p.stdout, p.stderr
    authfile = root / "auth.json"
    assert stat.S_IMODE(authfile.stat().st_mode) == 0o600
    # The file is containers-auth.json: skopeo reads it as it is.
    s = run(["skopeo", "inspect", "--tls-verify=false", "--authfile", authfile, f"docker://{ref}"])
    assert s.returncode == 0, s.stderr
    p = eng(isola, root, "pull", "-q", "--tls-verify=false", ref)
    assert p.returncode == 0, p.stderr
    assert eng(isola, root, "logout", auth_registry.host).returncode == 0
    assert auth_registry.host not in authfile.read_text()


def test_bad_references_and_missing_images(isola, root, registry):
    p = eng(isola, root, "pull", "Bad/Upper:tag")
    assert p.returncode == 125 and "may hold only lowercase letters" in p.stderr
    p = eng(isola, root, "pull", "--tls-verify=false", f"{registry.host}/no/such:1")
    assert p.returncode == 125 and "not found on" in p.stderr and "MANIFEST_UNKNOWN" in p.stderr
    p = eng(isola, root, "pull", "--tls-verify=false", "127.0.0.1:1/x:1")
    assert p.returncode == 125 and "Could not connect" in p.stderr or "Couldn't connect" in p.stderr


def test_pull_json_summary_and_live_progress_on_a_terminal(isola, root, two_layer_image):
    p = eng(isola, root, "pull", "--json", "--tls-verify=false", two_layer_image)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["name"] == two_layer_image and j["layers"] == 2 and j["layers_fetched"] == 2
    assert j["bytes_fetched"] > len(BUSYBOX) // 3 and j["digest"].startswith("sha256:")
    again = json.loads(eng(isola, root, "pull", "--json", "--tls-verify=false",
                           two_layer_image).stdout)
    assert again["layers_fetched"] == 0 and again["id"] == j["id"], "nothing fetched twice"
    # On a terminal: the status line with layers, bytes and rate.
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([isola.bin("isola"), "--root", root / "tty", "pull",
                             "--tls-verify=false", two_layer_image], stdout=subprocess.PIPE,
                            stderr=slave)
    os.close(slave)
    out, _ = proc.communicate(timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.returncode == 0
    text = shown.decode(errors="replace")
    assert "Trying to pull" in text and "Copying 2 layers:" in text and "/s" in text, text
    assert "Writing manifest" in text


def check_merged_tree(top):
    """The two-layer image as overlayfs shows it: the upper layer's files,
    whiteouts and opaque directory applied."""
    assert (top / "bin/busybox").read_bytes() == BUSYBOX
    assert (top / "etc/motd").read_text() == "upper layer\n"
    assert not (top / "etc/old").exists(), "whited out"
    assert sorted(os.listdir(top / "var/cache")) == ["b"], "opaque: the lower `a` is hidden"


def test_image_mount_shows_the_merged_root_filesystem(isola, root, two_layer_image):
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image).returncode == 0
    image_id = json.loads(eng(isola, root, "inspect", two_layer_image).stdout)[0]["Id"]
    p = eng(isola, root, "image", "mount", two_layer_image)
    assert p.returncode == 0, p.stderr
    top = Path(p.stdout.strip())
    try:
        check_merged_tree(top)
        with pytest.raises(OSError):
            (top / "new-file").write_text("x")  # read-only
        busy = eng(isola, root, "rmi", two_layer_image)
        assert busy.returncode == 125 and "is mounted at" in busy.stderr
        # Its only name moved to another image, then a prune: the mounted
        # image keeps its layers all the same.
        tarball = root.parent / "other.tar"
        run(["tar", "-C", "/usr/share/perl", "-cf", tarball, "."], check=True)
        assert eng(isola, root, "import", tarball, "localhost/other:1").returncode == 0
        assert eng(isola, root, "tag", "localhost/other:1", two_layer_image).returncode == 0
        assert eng(isola, root, "image", "prune").returncode == 0
        check_merged_tree(top)
    finally:
        # By ID: the name now belongs to the other image.
        assert eng(isola, root, "image", "unmount", image_id).returncode == 0
    assert not top.exists()
    assert eng(isola, root, "image", "prune").returncode == 0
    assert not (root / "images/layers").exists() or len(list((root / "images/layers").iterdir())) == 1, \
        "unmounted and unnamed: now collected (only localhost/other's layer is left)"


@pytest.mark.parametrize("fs", ["erofs", "ext4"])
def test_image_disk_for_microvms_is_built_once_and_holds_the_tree(isola, root, two_layer_image,
                                                                  tmp_path, fs):
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image).returncode == 0
    p = eng(isola, root, "image", "disk", "--fs", fs, two_layer_image)
    assert p.returncode == 0, p.stderr
    disk = Path(p.stdout.strip())
    assert disk.suffix == "." + fs and disk.stat().st_size > len(BUSYBOX) // 2
    mtime = disk.stat().st_mtime_ns
    again = eng(isola, root, "image", "disk", "--fs", fs, two_layer_image)
    assert again.stdout == p.stdout and disk.stat().st_mtime_ns == mtime, "cached per image"
    out = tmp_path / "extracted"
    if fs == "erofs":
        x = run(["fsck.erofs", f"--extract={out}", disk])
        assert x.returncode == 0, x.stderr
    else:
        out.mkdir()
        x = run(["debugfs", "-R", f"rdump / {out}", disk])
        assert x.returncode == 0, x.stderr
    check_merged_tree(out)
    # rmi + prune removes the disk with the image.
    assert eng(isola, root, "rmi", two_layer_image).returncode == 0
    assert not disk.exists()


def test_save_load_round_trip_and_what_skopeo_and_podman_read(isola, root, two_layer_image,
                                                               tmp_path):
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image).returncode == 0
    archive = tmp_path / "saved.tar"
    p = eng(isola, root, "save", "-o", archive, two_layer_image)
    assert p.returncode == 0, p.stderr
    mine = json.loads(eng(isola, root, "inspect", two_layer_image).stdout)[0]
    oci = json.loads(run(["skopeo", "inspect", f"oci-archive:{archive}"]).stdout)
    assert oci["Digest"] == mine["Digest"]
    assert run(["skopeo", "inspect", f"docker-archive:{archive}"]).returncode == 0
    other = tmp_path / "other"
    p = eng(isola, other, "load", "-i", archive)
    assert p.returncode == 0 and f"Loaded image: {two_layer_image}" in p.stdout, p.stderr
    theirs = json.loads(eng(isola, other, "inspect", two_layer_image).stdout)[0]
    assert theirs["Id"] == mine["Id"] and theirs["Digest"] == mine["Digest"]


def test_load_docker_archives_and_oci_directories_from_other_tools(isola, root, two_layer_image,
                                                                   tmp_path):
    docker = tmp_path / "docker.tar"
    skopeo_copy(f"docker://{two_layer_image}", f"docker-archive:{docker}:localhost/from-docker:1",
                "--src-tls-verify=false")
    p = eng(isola, root, "load", "-i", docker)
    assert p.returncode == 0 and "Loaded image: localhost/from-docker:1" in p.stdout, p.stderr
    ocidir = tmp_path / "ocidir"
    skopeo_copy(f"docker://{two_layer_image}", f"oci:{ocidir}:v3", "--src-tls-verify=false")
    p = eng(isola, root, "load", "-i", ocidir)
    assert p.returncode == 0 and "Loaded image: localhost/loaded:v3" in p.stdout, p.stderr
    a = json.loads(eng(isola, root, "inspect", "localhost/from-docker:1").stdout)[0]
    b = json.loads(eng(isola, root, "inspect", "localhost/loaded:v3").stdout)[0]
    assert a["Id"] == b["Id"], "the same config either way"
    p = eng(isola, root, "image", "mount", "localhost/from-docker:1")
    assert p.returncode == 0, p.stderr
    try:
        check_merged_tree(Path(p.stdout.strip()))
    finally:
        eng(isola, root, "image", "unmount", "localhost/from-docker:1")
    bad = tmp_path / "bad.tar"
    run(["tar", "-C", tmp_path / "ocidir", "-cf", bad, "oci-layout"], check=True)
    p = eng(isola, root, "load", "-i", bad)
    assert p.returncode == 125 and "neither an OCI image layout" in p.stderr


def test_push_mounts_blobs_across_repositories_and_uploads_in_chunks(isola, root, registry,
                                                                     two_layer_image, tmp_path):
    assert eng(isola, root, "pull", "-q", "--tls-verify=false", two_layer_image).returncode == 0
    dest = f"{registry.host}/mounted/copy:1"
    p = eng(isola, root, "--log-level", "debug", "push", "--tls-verify=false", two_layer_image,
            dest)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("mounted from test/two-layers") == 3, p.stderr  # 2 layers + config
    info = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{dest}"]).stdout)
    assert info["Digest"] == json.loads(eng(isola, root, "inspect", two_layer_image).stdout)[0]["Digest"]
    # An image the registry has never seen, in 64 KiB PATCH chunks.
    tarball = tmp_path / "fs.tar"
    run(["tar", "-C", "/usr/share/perl", "-cf", tarball, "."], check=True)
    assert eng(isola, root, "import", tarball, "localhost/tochunk:1").returncode == 0
    chunked = f"{registry.host}/chunked/copy:1"
    p = eng(isola, root, "--log-level", "debug", "push", "--tls-verify=false", "--chunk-size",
            "65536", "localhost/tochunk:1", chunked)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count(" uploaded") == 2, p.stderr  # layer and config
    info = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{chunked}"]).stdout)
    assert info["Digest"] == json.loads(eng(isola, root, "inspect", "localhost/tochunk:1").stdout)[0]["Digest"]
    out = Path(run(["mktemp", "-d"]).stdout.strip())
    try:
        skopeo_copy(f"docker://{chunked}", f"dir:{out}", "--src-tls-verify=false")
    finally:
        run(["rm", "-rf", out])


def test_bearer_token_auth_through_the_www_authenticate_challenge(isola, root, registry,
                                                                  two_layer_image):
    from harness.tokenproxy import TokenProxy
    proxy = TokenProxy(registry.host)
    try:
        ref = two_layer_image.replace(registry.host, proxy.host)
        p = eng(isola, root, "pull", "--tls-verify=false", ref)
        assert p.returncode == 125
        assert "refused access (HTTP 401)" in p.stderr and "isola login" in p.stderr
        p = eng(isola, root, "login", "--tls-verify=false", "-u", USER, "-p", PASSWORD, proxy.host)
        assert p.returncode == 0, p.stderr
        p = eng(isola, root, "pull", "-q", "--tls-verify=false", ref)
        assert p.returncode == 0, p.stderr
        scopes = [q.get("scope", [""])[0] for q in proxy.token_requests]
        assert "repository:test/two-layers:pull" in scopes
        assert all(q.get("service") == ["isola-test"] for q in proxy.token_requests)
    finally:
        proxy.stop()


def test_mirrors_are_tried_in_order_before_the_registry(isola, root, registry, two_layer_image):
    root.mkdir(parents=True)
    (root / "registries.json").write_text(json.dumps({
        "mirrors": {"registry.invalid": ["127.0.0.1:1", registry.host]},
        "insecure": ["127.0.0.1:1", registry.host]}))
    name = two_layer_image.replace(registry.host, "registry.invalid")
    p = eng(isola, root, "pull", "-q", name)
    assert p.returncode == 0, p.stderr
    assert "mirror 127.0.0.1:1 of registry.invalid" in p.stderr and "trying the next" in p.stderr
    (img,) = json.loads(eng(isola, root, "images", "--format", "json").stdout)
    assert f"{img['Repository']}:{img['Tag']}" == name, "named as asked, not after the mirror"


def test_load_refuses_archive_members_that_point_outside(isola, root, tmp_path):
    # A docker archive whose "layer" is a symlink to a host file.
    d = tmp_path / "evil"
    d.mkdir()
    (d / "config.json").write_text('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
    os.symlink("/etc/passwd", d / "layer.tar")
    (d / "manifest.json").write_text(json.dumps(
        [{"Config": "config.json", "RepoTags": ["localhost/evil:1"], "Layers": ["layer.tar"]}]))
    archive = tmp_path / "evil.tar"
    run(["tar", "-C", d, "-cf", archive, "."], check=True)
    for src in (archive, d):
        p = eng(isola, root, "load", "-i", src)
        assert p.returncode == 125, p.stdout
        assert "resolves outside the archive: refused" in p.stderr or "has no" in p.stderr, p.stderr
    assert "localhost/evil" not in eng(isola, root, "images").stdout

"""Registries for image tests: Debian's docker-registry (distribution v2) on
127.0.0.1, one open and one behind htpasswd basic auth, each with its own
storage directory and port, stopped by PID; and OCI image layouts built
here and copied into them with skopeo (the reference client)."""
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "isola", "s3cret-pass"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Registry:
    host: str
    data: Path
    proc: subprocess.Popen
    auth: bool

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def blob_path(self, digest):
        hexd = digest.split(":")[1]
        return self.data / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


def start_registry(tmp: Path, auth=False):
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    data = tmp / "data"
    cfg = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(data)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    if auth:
        htpasswd = tmp / "htpasswd"
        subprocess.run(["htpasswd", "-Bbc", str(htpasswd), USER, PASSWORD], check=True,
                       capture_output=True)
        cfg["auth"] = {"htpasswd": {"realm": "isola-test", "path": str(htpasswd)}}
    (tmp / "config.yml").write_text(json.dumps(cfg))  # JSON is YAML
    proc = subprocess.Popen(["docker-registry", "serve", str(tmp / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "log", "w"))
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    return Registry(f"127.0.0.1:{port}", data, proc, auth)


# ---- OCI layouts ----

def tar_layer(entries, compress=True):
    """entries: (name, kind, arg, mode): kind "file" (arg bytes), "dir",
    "symlink"/"hardlink" (arg target), "char" (arg (major, minor)), "fifo"."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = mode
            ti.mtime = 1700000000
            if kind == "file":
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
                continue
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            elif kind == "char":
                ti.type, (ti.devmajor, ti.devminor) = tarfile.CHRTYPE, arg
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            t.addfile(ti)
    raw = buf.getvalue()
    return (gzip.compress(raw, mtime=0) if compress else raw), raw


def _blob(layout: Path, data: bytes):
    d = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs/sha256" / d).write_bytes(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def build_layout(layout: Path, platforms, tag="latest", compress=True):
    """platforms: {(os, arch): [layer entries, ...]}; more than one platform
    makes an image index.  Returns the manifest descriptors by platform."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = {}
    for (os_, arch), layers in platforms.items():
        descs, diff_ids = [], []
        for entries in layers:
            if isinstance(entries, bytes):  # a ready tar (or tar.gz), e.g. the malicious corpus
                gz = entries[:2] == b"\x1f\x8b"
                blob, raw = entries, (gzip.decompress(entries) if gz else entries)
            else:
                (blob, raw), gz = tar_layer(entries, compress), compress
            d = _blob(layout, blob)
            d["mediaType"] = ("application/vnd.oci.image.layer.v1.tar+gzip" if gz
                              else "application/vnd.oci.image.layer.v1.tar")
            descs.append(d)
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        config = {"architecture": arch, "os": os_, "created": "2026-11-01T00:00:00Z",
                  "config": {"Cmd": ["/bin/sh"], "Env": [f"PLATFORM={os_}/{arch}"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        c = _blob(layout, json.dumps(config).encode())
        c["mediaType"] = "application/vnd.oci.image.config.v1+json"
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": c, "layers": descs}
        m = _blob(layout, json.dumps(man).encode())
        m["mediaType"] = man["mediaType"]
        m["platform"] = {"os": os_, "architecture": arch}
        manifests[(os_, arch)] = m
    if len(manifests) == 1:
        (m,) = manifests.values()
        top = dict(m, annotations={"org.opencontainers.image.ref.name": tag})
        top.pop("platform")
        index = {"schemaVersion": 2, "manifests": [top]}
    else:
        inner = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": list(manifests.values())}
        i = _blob(layout, json.dumps(inner).encode())
        i["mediaType"] = inner["mediaType"]
        i["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index = {"schemaVersion": 2, "manifests": [i]}
    (layout / "index.json").write_text(json.dumps(index))
    return manifests


def skopeo_copy(src, dst, *extra):
    p = subprocess.run(["skopeo", "copy", "--quiet", *extra, src, dst], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr

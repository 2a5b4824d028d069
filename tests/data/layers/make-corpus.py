#!/usr/bin/env python3
"""Writes the malicious layer corpus in this directory (committed; rerun to
regenerate).  Each tar tries to put something outside the layer directory
or to smuggle in what an unprivileged unpacker must not create.  The
unpacker must refuse each one with a message, or contain it inside the
layer (tests/unit/image/test_layer.c and tests/e2e/test_images_security.py
say which)."""
import io
import tarfile


def entry(t, name, kind="file", data=b"pwned\n", target=None, dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1700000000
    ti.mode = 0o644
    if kind == "file":
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
        return
    ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
               "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE}[kind]
    if target:
        ti.linkname = target
    ti.devmajor, ti.devminor = dev
    t.addfile(ti)


CASES = {
    # `..` components: refused
    "dotdot": [("../isola-escape-dotdot",)],
    "dotdot-inner": [("a/b/../../../isola-escape-inner",)],
    # absolute paths: contained (taken relative to the layer, as tar does)
    "absolute": [("/tmp/isola-escape-absolute",)],
    # through a symlink that points outside: contained or refused, never out
    "symlink-absolute": [("link", "symlink", b"", "/tmp"), ("link/isola-escape-symlink",)],
    "symlink-relative": [("link", "symlink", b"", "../../../../../../../../tmp"),
                         ("link/isola-escape-relative",)],
    "symlink-then-file": [("f", "symlink", b"", "/tmp/isola-escape-overwrite"), ("f",)],
    # hardlinks to files outside the layer: refused
    "hardlink-absolute": [("h", "hardlink", b"", "/etc/passwd")],
    "hardlink-dotdot": [("h", "hardlink", b"", "../../../../etc/passwd")],
    "hardlink-via-symlink": [("s", "symlink", b"", "/etc"), ("h", "hardlink", b"", "s/passwd")],
    # device nodes: root may create them, others get them skipped
    "device": [("dev", "dir"), ("dev/sda", "block", b"", None, (8, 0)),
               ("dev/mem", "char", b"", None, (1, 1))],
    # a whiteout that names the parent: refused
    "whiteout-dotdot": [("etc/.wh..",)],
}


def main():
    for name, entries in CASES.items():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
            for e in entries:
                args = list(e)
                kind = args[1] if len(args) > 1 else "file"
                data = args[2] if len(args) > 2 and args[2] else b"pwned\n"
                target = args[3] if len(args) > 3 else None
                dev = args[4] if len(args) > 4 else (0, 0)
                entry(t, args[0], kind, data, target, dev)
        with open(f"{name}.tar", "wb") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main()

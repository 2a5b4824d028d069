#!/usr/bin/env python3
"""Pick the kernel modules a microVM needs from an unpacked linux-image
package and put them in load order (dependencies first), reading each
module's own .modinfo (`depends=`, `softdep=pre:`) — no depmod needed.

    modules.py MODULES_DIR OUT_DIR NAME...

copies the modules into OUT_DIR and writes OUT_DIR/isola.list, one file
name per line, in the order isola-init loads them."""
import os
import shutil
import sys


def modinfo(path):
    data = open(path, "rb").read()
    info = {}
    for key in (b"depends", b"softdep", b"name"):
        i = data.find(b"\0" + key + b"=")
        if i >= 0:
            j = data.index(b"\0", i + 1)
            info[key.decode()] = data[i + 2 + len(key):j].decode()
    return info


def index(modules_dir):
    by_name = {}
    for root, _, files in os.walk(modules_dir):
        for f in files:
            if f.endswith(".ko"):
                by_name[f[:-3].replace("-", "_")] = os.path.join(root, f)
    return by_name


def deps(info):
    out = [d for d in info.get("depends", "").split(",") if d]
    soft = info.get("softdep", "")
    if soft.startswith("pre:"):
        out += soft[4:].split("post:")[0].split()
    return [d.replace("-", "_") for d in out]


def order(by_name, wanted):
    done, out = set(), []

    def visit(name, trail):
        name = name.replace("-", "_")
        if name in done or name not in by_name:
            return  # built in, or an optional soft dependency
        if name in trail:
            raise SystemExit(f"modules.py: dependency loop through {name}")
        for d in deps(modinfo(by_name[name])):
            visit(d, trail | {name})
        done.add(name)
        out.append(name)

    for w in wanted:
        if w.replace("-", "_") not in by_name:
            raise SystemExit(f"modules.py: no module {w} in the kernel package")
        visit(w, frozenset())
    return out


def main():
    modules_dir, out_dir, *wanted = sys.argv[1:]
    by_name = index(modules_dir)
    os.makedirs(out_dir, exist_ok=True)
    names = order(by_name, wanted)
    for n in names:
        shutil.copy(by_name[n], os.path.join(out_dir, n + ".ko"))
    with open(os.path.join(out_dir, "isola.list"), "w") as f:
        f.writelines(f"/lib/modules/{n}.ko\n" for n in names)


if __name__ == "__main__":
    main()

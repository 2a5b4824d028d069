"""Find host resources that look like isola's: processes, mounts, cgroups,
network links, named network namespaces and nftables tables.

Every name isola puts on the host starts with `isola` (links: `isl`), so a
snapshot before and after a test shows what the test left behind."""
import os
import re
import signal
import subprocess
import time

# dnsmasq: the engine runs one per network (only the tests' own are counted:
# the snapshot before a test is subtracted)
PROCESS_NAMES = {"isola", "isola-vmm", "isola-runtime", "isola-init", "isola-monitor", "dnsmasq"}
CGROUP_ROOT = "/sys/fs/cgroup"


def _processes():
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in PROCESS_NAMES and not _is_zombie(pid):
            found.add(("process", f"{pid} {comm}"))
    return found


def _is_zombie(pid):
    """A killed process whose parent has not reaped it holds nothing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def _mounts():
    found = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = _unescape(fields[4])
            source = _unescape(fields[fields.index("-") + 2])
            if "isola" in point or "isola" in source:
                found.add(("mount", point))
    return found


def _cgroups():
    found = set()
    if not os.path.isdir(CGROUP_ROOT):
        return found
    for top in os.listdir(CGROUP_ROOT):
        base = os.path.join(CGROUP_ROOT, top)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            depth = dirpath[len(base):].count("/")
            for d in list(dirnames):
                if d.startswith("isola"):
                    found.add(("cgroup", os.path.join(dirpath, d)))
                    dirnames.remove(d)  # report the top of a leaked tree only
            if depth >= 3:
                dirnames[:] = []
    return found


def _links():
    found = set()
    for name in os.listdir("/sys/class/net"):
        if name.startswith(("isola", "isl")):
            found.add(("link", name))
    return found


def _netns():
    found = set()
    if os.path.isdir("/run/netns"):
        for name in os.listdir("/run/netns"):
            if name.startswith(("isola", "isl")):
                found.add(("netns", name))
    return found


def _nft():
    try:
        out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {("nft", line.strip()) for line in out.splitlines() if "isola" in line}


HOST_DIRS = ("/", "/etc", "/tmp", "/usr", "/var", "/root", "/home", "/dev", "/run")


def _host_modes():
    """The modes of the host's key directories: a test that changes one
    (say, by following a symlink out of a layer) shows up as a leak."""
    found = set()
    for d in HOST_DIRS:
        try:
            found.add(("host mode", f"{d} {os.stat(d).st_mode & 0o7777:o}"))
        except OSError:
            pass
    return found


def restore_host_modes(before):
    """Put back the host directory modes recorded in `before`."""
    for kind, name in before:
        if kind == "host mode":
            path, mode = name.rsplit(" ", 1)
            try:
                os.chmod(path, int(mode, 8))
            except OSError:
                pass


def snapshot(exclude_pids=()):
    """Everything isola-named on the host now, as a set of (kind, name)."""
    s = _processes() | _mounts() | _cgroups() | _links() | _netns() | _nft() | _host_modes()
    return {r for r in s if not (r[0] == "process" and int(r[1].split()[0]) in exclude_pids)}


def _process_detail(pid):
    """A live process's state, parent and command line, to tell a leak's origin."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return f" (state {fields[0]}, parent {fields[1]}: {cmd[:200]})"
    except (OSError, IndexError):
        return " (gone)"


def describe(resources):
    return "\n".join(f"  - {kind}: {name}" + (_process_detail(name.split()[0]) if kind == "process" else "")
                     for kind, name in sorted(resources))


def clean(resources):
    """Remove leaked resources by their exact names, deepest first."""
    for kind, name in sorted(resources, key=lambda r: -len(r[1])):
        try:
            if kind == "process":
                os.kill(int(name.split()[0]), signal.SIGKILL)
            elif kind == "mount":
                subprocess.run(["umount", "-l", name], capture_output=True)
            elif kind == "cgroup":
                _remove_cgroup(name)
            elif kind == "link":
                subprocess.run(["ip", "link", "del", name], capture_output=True)
            elif kind == "netns":
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
            elif kind == "nft":
                subprocess.run(["nft", "delete", "table"] + name.split()[1:], capture_output=True)
        except (OSError, ValueError):
            pass


def _remove_cgroup(path):
    for dirpath, dirnames, _ in os.walk(path, topdown=False):
        procs = os.path.join(dirpath, "cgroup.procs")
        try:
            with open(procs) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)

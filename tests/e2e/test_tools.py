"""The programs tests and scripts may call are those of scripts/packages and
Debian's base system (scripts/tools): the check that would have found the
missing cpio of issue #19 here instead of on a fresh machine."""
import os

from harness.fixtures import TOP, run

TOOLS = os.path.join(TOP, "scripts", "tools")


def _script(tmp_path, name, body):
    p = tmp_path / name
    p.write_text("#!/bin/bash\nset -e\n" + body)
    p.chmod(0o755)
    return str(p)


def test_audit_passes_on_the_tree():
    r = run([TOOLS, "audit"], timeout=120)
    assert r.returncode == 0, r.stderr


def test_audit_names_file_line_and_package_of_an_unlisted_program(tmp_path):
    # no listed package brings strace (installed or not, the call is refused)
    s = _script(tmp_path, "uses-strace", 'tar -cf /dev/null "$0"\n'
                "echo 'strace in quotes is data'\n"
                "out=$(strace -f true)\n")
    r = run([TOOLS, "audit", s], timeout=120)
    assert r.returncode == 1, r.stdout
    assert f"{s}:5: runs 'strace'" in r.stderr, r.stderr
    assert "'tar'" not in r.stderr and ":4:" not in r.stderr, r.stderr


def test_audit_refuses_a_program_no_package_provides(tmp_path):
    s = _script(tmp_path, "uses-nothing", "if true; then\n  isola-no-such-tool --x\nfi\n")
    r = run([TOOLS, "audit", s], timeout=120)
    assert r.returncode == 1
    assert f"{s}:4: runs 'isola-no-such-tool', which no installed package provides" in r.stderr, \
        r.stderr


def test_path_holds_listed_and_base_programs_only(tmp_path):
    farm = tmp_path / "bin"
    r = run([TOOLS, "path", str(farm)], timeout=120)
    assert r.returncode == 0, r.stderr
    names = set(os.listdir(farm))
    for listed in ("tar", "sh", "ip", "nft", "podman", "skopeo", "cpio", "curl", "busybox"):
        assert listed in names, listed
    # programs of /usr/local and of no package never appear
    assert not any(os.path.realpath(farm / n).startswith("/usr/local/") for n in names)

"""Tests of the test harness itself: its fixtures work, and its leak check
fails a test that leaves an isola-named resource behind."""
import os
import subprocess
import textwrap

from harness import leaks
from harness.fixtures import run

HERE = os.path.dirname(os.path.abspath(__file__))


def test_busybox_rootfs_runs_a_shell_in_a_chroot(rootfs):
    r = run(["chroot", rootfs, "/bin/sh", "-c", "echo hello from $(basename $0)"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "hello from sh"


def test_netns_is_private_with_only_loopback(netns):
    r = netns.run(["ls", "/sys/class/net"])
    assert r.stdout.split() == ["lo"]
    assert os.path.exists(f"/run/netns/{netns.name}")


def test_netns_is_removed_after_the_test(netns_factory):
    # Its teardown runs before the leak check: a netns the fixture made and
    # removed is not a leak (the leak check would fail this test otherwise).
    ns = netns_factory()
    assert ns.name.startswith("isola-t")


def test_state_root_is_empty_and_isola_named(state_root):
    assert state_root.is_dir() and not any(state_root.iterdir())
    assert "isola" in state_root.name


def _inner_run(pytester, body):
    pytester.makepyfile(test_inner=textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        ["/usr/bin/python3", "-m", "pytest", "-p", "harness.fixtures", "-p", "no:cacheprovider",
         "-q", str(pytester.path)], cwd=pytester.path, env=env, capture_output=True, text=True,
        timeout=120)


def test_leak_check_fails_a_test_that_leaks_a_mount(pytester, tmp_path):
    point = tmp_path / "isola-leak-probe"
    point.mkdir()
    r = _inner_run(pytester, f"""
        import subprocess
        def test_leaks_a_mount():
            subprocess.run(["mount", "-t", "tmpfs", "isola-probe", "{point}"], check=True)
    """)
    assert r.returncode != 0, r.stdout
    assert "test left isola resources behind" in r.stdout
    assert f"mount: {point}" in r.stdout
    assert "1 passed, 1 error" in r.stdout
    # ...and it removed the mount, so nothing is left for the next test.
    assert ("mount", str(point)) not in leaks.snapshot()


def test_leak_check_fails_a_test_that_leaks_a_process(pytester, tmp_path):
    # A process named like one of ours, left running.
    fake = tmp_path / "isola-runtime"
    os.symlink("/bin/sleep", fake)
    r = _inner_run(pytester, f"""
        import subprocess
        def test_leaks_a_process():
            subprocess.Popen(["{fake}", "60"])
    """)
    assert r.returncode != 0
    assert "process:" in r.stdout and "isola-runtime" in r.stdout


def test_leak_check_passes_a_clean_test(pytester):
    r = _inner_run(pytester, """
        def test_clean(state_root):
            (state_root / "x").write_text("ok")
    """)
    assert r.returncode == 0, r.stdout
    assert "1 passed" in r.stdout


def test_leak_check_fails_a_test_that_changes_a_host_directory_mode(pytester):
    # What a harness following a symlink out of a layer once did to /tmp.
    r = _inner_run(pytester, """
        import os
        def test_chmods_tmp():
            os.chmod("/tmp", 0o700)
    """)
    assert r.returncode != 0, r.stdout
    assert "host mode: /tmp 700" in r.stdout
    assert oct(os.stat("/tmp").st_mode & 0o7777) == "0o1777", "and it was put back"


def test_a_second_e2e_run_waits_for_the_first(pytester):
    """Two runs at once would each take the other's containers and dnsmasq
    for leaks and kill them: a second run waits until the first has ended."""
    pytester.makepyfile(test_inner="def test_nothing():\n    pass\n")
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("ISOLA_E2E_LOCK_HELD", None)  # as a run started from another shell
    p = subprocess.Popen(
        ["/usr/bin/python3", "-m", "pytest", "-p", "harness.fixtures", "-p", "no:cacheprovider",
         "-q", str(pytester.path)], cwd=pytester.path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        assert "waiting for another e2e run on this host to finish" in line, line
        assert p.poll() is None  # still waiting: this run holds the lock
    finally:
        p.kill()
        p.communicate()

"""The three executables answer --version and --help, and refuse bad input
with a clear message and a non-zero exit."""
import json

import pytest

from harness.fixtures import BINARIES, run


@pytest.mark.parametrize("name", BINARIES)
def test_version_names_the_program_and_version(isola, name):
    r = run([isola.bin(name), "--version"])
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{name} version "), first
    assert "commit:" in r.stdout


def test_runtime_version_names_the_oci_spec(isola):
    r = run([isola.bin("isola-runtime"), "--version"])
    assert "spec: 1.2" in r.stdout


@pytest.mark.parametrize("name", BINARIES)
def test_help_prints_usage(isola, name):
    r = run([isola.bin(name), "--help"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: ")


@pytest.mark.parametrize("name", BINARIES)
def test_unknown_option_is_refused(isola, name):
    r = run([isola.bin(name), "--no-such-option"])
    assert r.returncode != 0
    assert "no-such-option" in r.stderr
    assert "--help" in r.stderr


@pytest.mark.parametrize("name,status", [("isola", 125), ("isola-runtime", 1)])
def test_unknown_command_is_refused_with_its_name(isola, name, status):
    r = run([isola.bin(name), "frobnicate"])
    assert r.returncode == status
    assert "unknown command `frobnicate`" in r.stderr


@pytest.mark.parametrize("group", ["network", "volume", "image", "system"])
def test_verb_groups_refuse_a_missing_or_unknown_subcommand_alike(isola, tmp_path, group):
    # one dispatcher (src/engine/cli/group.c) answers for every group
    root = str(tmp_path / "root")
    r = run([isola.bin("isola"), "--root", root, group])
    assert r.returncode == 125
    assert r.stderr.startswith(f"Usage: isola {group} "), r.stderr
    r = run([isola.bin("isola"), "--root", root, group, "frobnicate"])
    assert r.returncode == 125
    assert r.stderr.startswith(f"isola {group}: unknown command `frobnicate`\nUsage: isola {group} "), r.stderr


def test_pull_help_exits_zero_with_the_usage(isola, tmp_path):
    r = run([isola.bin("isola"), "--root", str(tmp_path / "root"), "pull", "--help"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: isola pull "), r.stdout


def test_runtime_logs_errors_as_json_lines_when_asked(isola, tmp_path):
    log = tmp_path / "log.json"
    r = run([isola.bin("isola-runtime"), "--log", log, "--log-format", "json", "frobnicate"])
    assert r.returncode != 0
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["level"] == "error"
    assert "frobnicate" in last["msg"]
    assert "time" in last


def test_runtime_rejects_an_unknown_log_format(isola):
    r = run([isola.bin("isola-runtime"), "--log-format", "xml", "state", "x"])
    assert r.returncode != 0
    assert "use `text` or `json`" in r.stderr

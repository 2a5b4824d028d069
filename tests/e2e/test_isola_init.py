"""isola-init's agent (issue #6) run as an ordinary process on a Unix socket
(`isola-init --agent unix:PATH`): the same code that serves vsock port 1024
inside a microVM runs commands, streams their stdio both ways, forwards
signals and returns Docker-style exit statuses."""
import subprocess
import threading

import pytest

from harness.agent import Agent, frame, read_frame, stop, unix

# Far more than a socket's buffers hold: the agent must read it for the
# host's writes to finish.
BIG = 8 << 20


@pytest.fixture
def agent(isola, tmp_path):
    path = tmp_path / "agent.sock"
    p = subprocess.Popen([isola.dir / "guest" / "init" / "isola-init", "--agent", f"unix:{path}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"isola-init: ready\n"
    yield Agent(unix(path))
    stop(p, path)


def test_runs_a_command_with_separate_stdout_stderr_and_exit_code(agent):
    out, err, status, fail = agent.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (out, err, status, fail) == (b"out\n", b"err\n", 3, None)


def test_stdin_reaches_the_command_and_its_end_closes_it(agent):
    data = bytes(range(256)) * 1024  # 256 KiB, more than a pipe holds
    out, _, status, _ = agent.exec(["cat"], stdin=data)
    assert status == 0 and out == data


def test_environment_and_working_directory(agent, tmp_path):
    out, _, status, _ = agent.exec(["sh", "-c", "echo $GREETING; pwd"],
                                   env=["PATH=/usr/bin:/bin", "GREETING=hello"], cwd=str(tmp_path))
    assert status == 0 and out == f"hello\n{tmp_path}\n".encode()


def test_missing_and_non_executable_commands_get_127_and_126(agent, tmp_path):
    _, _, status, fail = agent.exec(["no-such-command"])
    assert status == 127 and fail == "cannot run `no-such-command`: No such file or directory"
    f = tmp_path / "data.txt"
    f.write_text("x")
    _, _, status, fail = agent.exec([str(f)])
    assert status == 126 and "Permission denied" in fail


def test_a_signal_from_the_host_reaches_the_command(agent):
    _, _, status, _ = agent.exec(["sh", "-c", "echo started; exec sleep 60"], signal_after=9)
    assert status == 128 + 9


def test_bad_requests_are_refused_with_the_reason(agent):
    _, _, status, fail = agent.exec(None, raw=b"{not json")
    assert status == 125 and "is not a JSON object (line 1" in fail
    _, _, status, fail = agent.exec(None, raw=b'{"args": []}')
    assert status == 125 and "needs \"args\": a non-empty array of strings" in fail


def test_a_request_refused_early_is_answered_while_the_host_still_sends(agent):
    # The refusal comes after the first frame; the stdin behind it cannot
    # all be in flight, so the agent answers while the host is still writing.
    _, _, status, fail = agent.exec(None, raw=b'{"args": []}', stdin=b"x" * BIG)
    assert status == 125 and "needs \"args\"" in fail


def test_the_agent_reads_the_whole_request_before_it_closes(agent):
    # A raw client that writes everything before it reads: had the agent
    # closed after its answer with our data unread, these writes would fail
    # (EPIPE on a Unix socket; an RST that can drop the answer on vsock).
    s = agent.connect()
    s.sendall(frame("E", b"{not json"))
    s.sendall(frame("I", b"x" * (1 << 19)) * (BIG >> 19))
    s.sendall(frame("I"))
    f = s.makefile("rb")
    t, fail = read_frame(f)
    assert t == "F" and b"is not a JSON object" in fail
    assert read_frame(f) == ("X", (125).to_bytes(4, "big"))
    assert read_frame(f) == (None, None)  # EOF, not a reset
    f.close()
    s.close()


def test_a_command_that_leaves_its_stdin_unread_still_reports_its_status(agent):
    assert agent.exec(["sh", "-c", "echo done; exit 4"], stdin=b"x" * BIG) == (b"done\n", b"", 4, None)


def test_commands_keep_the_default_sigpipe(agent):
    # The agent ignores SIGPIPE for itself; `yes` must still die of it quietly.
    assert agent.exec(["sh", "-c", "yes | head -n1"]) == (b"y\n", b"", 0, None)


def test_commands_run_concurrently(agent):
    results = []

    def one(i):
        results.append(agent.exec(["sh", "-c", f"sleep 0.5; echo {i}"]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0] for r in results) == [f"{i}\n".encode() for i in range(5)]


def test_poweroff_ends_the_agent(isola, tmp_path):
    path = tmp_path / "agent.sock"
    p = subprocess.Popen([isola.dir / "guest" / "init" / "isola-init", "--agent", f"unix:{path}"],
                         stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"isola-init: ready\n"
    Agent(unix(path)).poweroff()
    assert p.wait(timeout=10) == 0
    assert not path.exists()

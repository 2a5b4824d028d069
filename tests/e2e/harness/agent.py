"""A client of isola-init's agent protocol (guest/init/proto.h): frames of
u8 type, u32 big-endian length, payload."""
import json
import socket
import struct
import subprocess
import threading


def frame(t, payload=b""):
    return bytes([ord(t)]) + struct.pack(">I", len(payload)) + payload


def read_frame(f):
    h = f.read(5)
    if len(h) < 5:
        return None, None
    n = struct.unpack(">I", h[1:])[0]
    return chr(h[0]), f.read(n)


# The largest stdin frame exec() sends (the agent takes up to FRAME_MAX).
STDIN_CHUNK = 64 * 1024


class Agent:
    def __init__(self, connect):
        """`connect` returns a connected stream socket."""
        self.connect = connect

    def exec(self, args, stdin=b"", env=None, cwd=None, signal_after=None, raw=None):
        """Run a command; returns (stdout, stderr, status, failure).

        As a real client must, this writes (the request, then stdin) from one
        thread while it reads the answer in another: the agent may answer
        before it has read all we send (a refused request, a command that
        exits without reading its stdin), and a write that fails because
        the agent has gone must not lose the answer it sent first."""
        s = self.connect()
        req = {"args": args, "env": env or ["PATH=/usr/bin:/bin"]}
        if cwd:
            req["cwd"] = cwd
        frames = [frame("E", raw if raw is not None else json.dumps(req).encode())]
        frames += [frame("I", stdin[i:i + STDIN_CHUNK]) for i in range(0, len(stdin), STDIN_CHUNK)]
        frames.append(frame("I"))
        lock = threading.Lock()  # one frame at a time on the socket

        def write():
            try:
                for fr in frames:
                    with lock:
                        s.sendall(fr)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the agent stopped reading: its answer is still ours to read

        writer = threading.Thread(target=write)
        writer.start()
        f = s.makefile("rb")
        out, err, fail = b"", b"", None
        try:
            while True:
                if signal_after is not None and (out or err):
                    with lock:
                        s.sendall(frame("K", struct.pack(">I", signal_after)))
                    signal_after = None
                t, p = read_frame(f)
                if t is None:
                    raise EOFError("the agent closed the connection without an exit status")
                if t == "O":
                    out += p
                elif t == "R":
                    err += p
                elif t == "F":
                    fail = p.decode()
                elif t == "X":
                    return out, err, struct.unpack(">I", p)[0], fail
        finally:
            try:
                s.shutdown(socket.SHUT_RDWR)  # ends a write still blocked
            except OSError:
                pass
            writer.join()
            f.close()
            s.close()

    def poweroff(self):
        s = self.connect()
        s.sendall(frame("P"))
        s.close()


def stop(proc, path):
    """End an `isola-init --agent unix:PATH` process `proc` and everything it
    forked: a poweroff request, after which it exits once every connection
    has ended (a handler outlives its host's close by a moment).  A
    SIGKILL instead would orphan handlers still alive for the leak check
    to find."""
    if proc.poll() is None:
        Agent(unix(path)).poweroff()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("the agent did not end after a poweroff: a connection is still open")
    proc.wait()


def unix(path):
    def connect():
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(path))
        return s
    return connect


def vsock_uds(path, port=1024):
    """Through isola-vmm's vsock socket (Firecracker's CONNECT scheme)."""
    def connect():
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(path))
        s.sendall(f"CONNECT {port}\n".encode())
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                raise ConnectionError("the VM refused the vsock connection")
            line += c
        assert line.startswith(b"OK "), line
        return s
    return connect

"""A client of isola-init's agent protocol (guest/init/proto.h): frames of
u8 type, u32 big-endian length, payload."""
import json
import socket
import struct


def frame(t, payload=b""):
    return bytes([ord(t)]) + struct.pack(">I", len(payload)) + payload


def read_frame(f):
    h = f.read(5)
    if len(h) < 5:
        return None, None
    n = struct.unpack(">I", h[1:])[0]
    return chr(h[0]), f.read(n)


class Agent:
    def __init__(self, connect):
        """`connect` returns a connected stream socket."""
        self.connect = connect

    def exec(self, args, stdin=b"", env=None, cwd=None, signal_after=None, raw=None):
        """Run a command; returns (stdout, stderr, status, failure)."""
        s = self.connect()
        req = {"args": args, "env": env or ["PATH=/usr/bin:/bin"]}
        if cwd:
            req["cwd"] = cwd
        s.sendall(frame("E", raw if raw is not None else json.dumps(req).encode()))
        if stdin:
            s.sendall(frame("I", stdin))
        s.sendall(frame("I"))
        f = s.makefile("rb")
        out, err, fail = b"", b"", None
        while True:
            if signal_after is not None and (out or err):
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
                f.close()
                s.close()
                return out, err, struct.unpack(">I", p)[0], fail

    def poweroff(self):
        s = self.connect()
        s.sendall(frame("P"))
        s.close()


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

"""bench/net's helper, run inside the benchmark's network namespace:
  peer.py send IFACE N      send N 1514-byte frames of type 0x88b6
  peer.py recv IFACE N      count them; print "got K in S seconds"
  peer.py veth N            both ends over a veth pair (the baseline)"""
import socket
import sys
import time

TYPE = 0x88B6


def frame():
    return b"\xff" * 6 + bytes.fromhex("0a0000000001") + TYPE.to_bytes(2, "big") + bytes(1500)


def sender(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    return s


def receiver(iface):
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(TYPE))
    r.bind((iface, 0))
    r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    r.settimeout(1.0)
    return r


def count(r, n):
    got, first, last = 0, None, None
    try:
        while got < n:
            r.recv(2048)
            last = time.perf_counter()
            first = first or last
            got += 1
    except socket.timeout:
        pass
    return got, (last - first) if got > 1 else 0.0


def main():
    mode = sys.argv[1]
    if mode == "send":
        s, f = sender(sys.argv[2]), frame()
        for _ in range(int(sys.argv[3])):
            try:
                s.send(f)
            except OSError:
                pass  # a full queue drops, as a wire would
    elif mode == "recv":
        r = receiver(sys.argv[2])
        print("ready", flush=True)
        got, secs = count(r, int(sys.argv[3]))
        print(f"got {got} in {secs:.6f} seconds", flush=True)
    elif mode == "veth":
        n = int(sys.argv[2])
        r = receiver("islvb")
        s, f = sender("islva"), frame()
        import threading
        result = []
        t = threading.Thread(target=lambda: result.append(count(r, n)))
        t.start()
        for _ in range(n):
            try:
                s.send(f)
            except OSError:
                pass
        t.join()
        got, secs = result[0]
        print(f"got {got} in {secs:.6f} seconds", flush=True)


if __name__ == "__main__":
    main()

"""The host's end of a test guest's NIC: run inside the test's network
namespace, it waits for one Ethernet frame of type 0x88b5 on a tap, prints
its payload and answers with "isola-host-frame" (tests/e2e/test_vmm_virtio.py)."""
import socket
import sys

tap = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
s.bind((tap, 0))
s.settimeout(60)
print("ready", flush=True)
frame = s.recv(2048)
print("got", frame[14:31].decode(errors="replace"), "from", frame[6:12].hex(":"), flush=True)
s.send(frame[6:12] + bytes.fromhex("0a0000000002") + b"\x88\xb5" + b"isola-host-frame" + bytes(30))

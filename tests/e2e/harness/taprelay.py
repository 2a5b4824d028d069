"""A stand-in for a microVM's NIC: copies Ethernet frames between the tap
the engine made for a --vm container (in the engine's namespace) and a tap
in a namespace of the test's, where a DHCP client runs as the guest would.
It is what isola-vmm's virtio-net does with the tap's other side.

usage: taprelay.py ENGINE_NETNS ENGINE_TAP GUEST_NETNS GUEST_TAP"""
import ctypes
import errno
import fcntl
import os
import select
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def open_tap(netns, name):
    with open(f"/run/netns/{netns}") as ns:
        # os.setns arrives with Python 3.12; Debian 12 has 3.11
        if ctypes.CDLL(None, use_errno=True).setns(ns.fileno(), 0x40000000) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


a = open_tap(sys.argv[1], sys.argv[2])
b = open_tap(sys.argv[3], sys.argv[4])
print("ready", flush=True)
while True:
    ready, _, _ = select.select([a, b], [], [])
    for fd in ready:
        frame = os.read(fd, 65536)
        try:
            os.write(b if fd == a else a, frame)
        except OSError as e:
            # a tap that is not up yet (EIO) or is full: drop the frame as
            # isola-vmm's virtio-net does (the bridge floods frames before
            # the test brings the guest's tap up)
            if e.errno not in (errno.EIO, errno.EAGAIN, errno.ENOBUFS):
                raise

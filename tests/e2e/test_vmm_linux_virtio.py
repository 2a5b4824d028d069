"""Debian's stock kernel with isola-init and every virtio device (issue #6):
the kernel finds the devices in the DSDT, isola-init loads the virtio,
vsock and ext4 modules from its initramfs, mounts an ext4 root disk, takes
its address from the command line, and the host runs commands in it over
vsock: it reads a file from the disk, pings the host's end of the tap inside
a namespace the test made, and powers the VM off.  Needs VMX or SVM
(`hardware_kvm`): on PVM a stock kernel cannot boot (../shared/PLATFORM.md),
so on this host make check runs it in a nested L1 (tests/nested/run)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.agent import Agent, vsock_uds
from harness.fixtures import TOP, run
from harness.vmm import LINUX_TIMEOUT, read_until

pytestmark = [pytest.mark.kvm, pytest.mark.slow, pytest.mark.hardware_kvm]


@pytest.fixture(scope="module")
def kernel():
    p = subprocess.run([TOP / "guest/kernel/fetch-debian"], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail("guest/kernel/fetch-debian failed:\n" + p.stderr)
    return Path(p.stdout.strip())


def isola_initrd(isola, kernel, tmp_path):
    out = tmp_path / "isola-initrd.cpio"
    run(["/usr/bin/python3", TOP / "guest/kernel/mkinitramfs.py", "--isola-init",
         isola.dir / "guest" / "init" / "isola-init", kernel / "modules", out], check=True)
    return out


def root_disk(tmp_path):
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    for tool in ("sh", "cat", "ping", "echo"):
        os.symlink("busybox", root / "bin" / tool)
    (root / "etc" / "isola-marker").write_text("written on the host\n")
    img = tmp_path / "root.img"
    run(["mkfs.ext4", "-q", "-F", "-d", root, img, "64M"], check=True)
    return img


def test_stock_kernel_with_isola_init_uses_every_device(isola, kernel, netns, tmp_path):
    netns.run(["ip", "tuntap", "add", "isltap0", "mode", "tap"], check=True)
    netns.run(["ip", "addr", "add", "10.0.2.1/24", "dev", "isltap0"], check=True)
    netns.run(["ip", "link", "set", "isltap0", "up"], check=True)
    uds = tmp_path / "v.sock"
    cmdline = ("console=ttyS0 reboot=k panic=-1 isola.root=/dev/vda isola.ip=10.0.2.2/24 "
               "isola.gw=10.0.2.1 isola.hostname=isolavm")
    vm = netns.popen([isola.bin("isola-vmm"), "--kernel", kernel / "vmlinux", "--initrd",
                      isola_initrd(isola, kernel, tmp_path), "--memory", 256, "--disk", root_disk(tmp_path),
                      "--net", "tap=isltap0,mac=06:00:00:00:00:02", "--vsock", f"cid=3,uds={uds}", "--rng",
                      "--cmdline", cmdline], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
    try:
        out = read_until(vm, "isola-init: ready", timeout=LINUX_TIMEOUT)
        assert "isola-init: root /dev/vda mounted" in out
        assert "isola-init: network 10.0.2.2/24 on eth0" in out
        agent = Agent(vsock_uds(uds))
        assert agent.exec(["/bin/cat", "/etc/isola-marker"])[:3] == (b"written on the host\n", b"", 0)
        _, _, status, _ = agent.exec(["/bin/ping", "-c", "1", "-W", "5", "10.0.2.1"])
        assert status == 0
        out, _, status, _ = agent.exec(["/bin/cat", "/sys/class/misc/hw_random/rng_current"])
        assert out.strip() == b"virtio_rng.0"
        assert agent.exec(["/bin/sh", "-c", "echo hi; exit 5"])[2] == 5
        agent.poweroff()
        vm.wait(timeout=LINUX_TIMEOUT)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
    assert vm.returncode == 0

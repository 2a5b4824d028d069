"""The ACPI tables isola-vmm gives a guest are valid for ACPICA, the
interpreter inside Linux: `--dump-acpi` writes them and `iasl -d`
disassembles them without a checksum or AML error (issue #4)."""
import re
import subprocess

import pytest

from harness.fixtures import run
from harness.vmm import guest


@pytest.mark.parametrize("cpus", [1, 4])
def test_iasl_disassembles_every_table(isola, tmp_path, cpus):
    p = run([isola.bin("isola-vmm"), "--kernel", guest(isola, "hello"), "--cpus", cpus,
             "--dump-acpi", tmp_path])
    assert p.returncode == 0, p.stderr
    tables = sorted(f.name for f in tmp_path.iterdir())
    assert tables == ["apic.dat", "dsdt.dat", "facp.dat", "rsdp.dat", "xsdt.dat"]
    # iasl (20200925) does not take a bare RSDP: check that one here.
    rsdp = (tmp_path / "rsdp.dat").read_bytes()
    assert rsdp[:8] == b"RSD PTR " and len(rsdp) == 36 and rsdp[15] == 2
    assert sum(rsdp[:20]) % 256 == 0 and sum(rsdp) % 256 == 0
    tables.remove("rsdp.dat")
    d = subprocess.run(["iasl", "-d"] + [str(tmp_path / t) for t in tables], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert d.returncode == 0, d.stdout + d.stderr
    for t in tables:
        dsl = (tmp_path / t.replace(".dat", ".dsl")).read_text()
        assert "Incorrect" not in dsl and "Error" not in dsl, f"{t}:\n{dsl}"
    dsdt = (tmp_path / "dsdt.dsl").read_text()
    assert 'EisaId ("PNP0501")' in dsdt and "IRQNoFlags ()\n                    {4}" in dsdt
    assert 'EisaId ("PNP0303")' in dsdt and "Name (_S5, Package (0x04)" in dsdt
    # the VM generation ID (Linux's vmgenid) and the GED that announces a new one
    assert 'Device (VGEN)' in dsdt and 'Name (_HID, "VMGENCTR")' in dsdt
    assert re.search(r"Name \(ADDR, Package \(0x02\)\s*\{\s*0x000EF000,\s*Zero", dsdt), dsdt
    assert 'Name (_HID, "ACPI0013"' in dsdt and "Method (_EVT, 1" in dsdt
    assert re.search(r"If \(\(Arg0 == 0x10\)\)\s*\{\s*Notify \(\\_SB\.VGEN, 0x80\)", dsdt), dsdt
    madt = (tmp_path / "apic.dsl").read_text()
    assert madt.count("[Processor Local APIC]") == cpus
    assert "[I/O APIC]" in madt and "[Local APIC NMI]" in madt
    fadt = (tmp_path / "facp.dsl").read_text()
    assert "Hardware Reduced (V5) : 1" in fadt


def test_dump_into_a_missing_directory_says_so(isola, tmp_path):
    p = run([isola.bin("isola-vmm"), "--kernel", guest(isola, "hello"), "--dump-acpi",
             tmp_path / "nope"])
    assert p.returncode == 1
    assert "cannot dump ACPI table RSDP" in p.stderr and "No such file or directory" in p.stderr

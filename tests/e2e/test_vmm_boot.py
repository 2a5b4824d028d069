"""isola-vmm boots the project's test guests on this host's KVM through all
three entry paths and keeps the boot state it promises (issue #4)."""
import pytest

from harness.vmm import boot, guest, kvm_supported_cpuid

pytestmark = pytest.mark.kvm

FORMS = ["pvh", "elf64", "bzimage"]


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def expected_e820(mib):
    low = min(mib << 20, 0xD0000000)
    lines = ["0x0-0x9fbff type 1", "0x9fc00-0x9ffff type 2", "0xe0000-0xfffff type 2",
             f"0x100000-{low - 1:#x} type 1"]
    if mib << 20 > low:
        lines.append(f"0x100000000-{0x100000000 + (mib << 20) - low - 1:#x} type 1")
    return lines


@pytest.mark.parametrize("form", FORMS)
def test_verify_guest_passes_every_boot_check(isola, form):
    cmdline = "console=ttyS0 isola.mem=128 isola.cpus=1"
    b = boot(isola, guest(isola, "verify", form), "--cmdline", cmdline)
    assert b.rc == 0, b.out + b.err
    assert "isola-test: PASS" in b.out, b.out
    assert b.lines("cmdline:") == [cmdline]
    assert b.lines("e820:") == expected_e820(128)
    assert "the guest powered off" in b.err
    entry = "pvh" if form == "pvh" else "linux64"
    assert f"isola-test: verify, entry {entry}" in b.out
    # KVM's own leaves reach the guest exactly as KVM reports them.
    (cpuid,) = b.lines("cpuid:")
    max_leaf = kvm_supported_cpuid(0x40000000)[0]
    features = kvm_supported_cpuid(0x40000001)[0]
    assert cpuid == f"hypervisor 'KVMKVMKVM', max leaf {max_leaf:#x}, features {features:#x}"


@pytest.mark.parametrize("cpus,mib", [(1, 16), (2, 256), (4, 3400), (8, 8192)])
def test_cpu_counts_and_memory_sizes_reach_the_guest(isola, cpus, mib):
    b = boot(isola, guest(isola, "verify", "bzimage"), "--cpus", cpus, "--memory", mib,
             "--cmdline", f"isola.mem={mib} isola.cpus={cpus}")
    assert b.rc == 0 and "isola-test: PASS" in b.out, b.out + b.err
    assert b.lines("acpi: madt cpus=") == [str(cpus)]
    assert b.lines("mptable: cpus=") == [str(cpus)]
    assert b.lines("e820:") == expected_e820(mib)


@pytest.mark.parametrize("form", ["pvh", "bzimage"])
def test_initrd_sits_at_the_top_of_low_memory_intact(isola, tmp_path, form):
    # Small: on PVM the guest's checksum loop is emulated (~10 us a byte).
    data = bytes((i * 7 + 3) & 0xFF for i in range(64 * 1024 + 123))
    initrd = tmp_path / "initrd.img"
    initrd.write_bytes(data)
    b = boot(isola, guest(isola, "verify", form), "--initrd", initrd, "--memory", 64,
             "--cmdline", "isola.mem=64")
    assert b.rc == 0 and "isola-test: PASS" in b.out, b.out + b.err
    (line,) = b.lines("initrd:")
    fields = dict(kv.split("=") for kv in line.split())
    assert int(fields["size"]) == len(data)
    assert int(fields["fnv1a"], 16) == fnv1a(data)
    addr = int(fields["addr"], 16)
    assert addr % 4096 == 0 and (64 << 20) - 4096 < addr + len(data) <= 64 << 20


@pytest.mark.parametrize("cpus", [1, 2, 3, 8])
def test_every_vcpu_comes_online_through_init_sipi(isola, cpus):
    b = boot(isola, guest(isola, "smp"), "--cpus", cpus)
    assert b.rc == 0 and "isola-test: PASS" in b.out, b.out + b.err
    lines = [line for line in b.out.splitlines() if " online, apic id " in line]
    online = sorted(int(line.split("apic id ")[1].split(",")[0]) for line in lines)
    assert online == list(range(1, cpus))
    assert f"smp: {cpus} of {cpus} cpus online" in b.out
    # Each vCPU's CPUID leaf 1 carries its own APIC ID (cpuid_for_vcpu).  The
    # test guests' code is emulated on PVM, so their cpuid reaches KVM's
    # table there too, as it does under VMX/SVM.
    for line in lines:
        lapic = line.split("apic id ")[1].split(",")[0]
        assert line.endswith(f"cpuid apic id {lapic}"), line


def test_smp_through_the_64bit_boot_protocol(isola):
    b = boot(isola, guest(isola, "smp", "bzimage"), "--cpus", 4)
    assert b.rc == 0 and "smp: 4 of 4 cpus online" in b.out, b.out + b.err


@pytest.mark.parametrize("how,said", [
    ("s5", "the guest powered off (ACPI S5)"),
    ("kbd", "the guest reset the machine through the i8042"),
    ("cf9", "the guest reset the machine (reset register)"),
])
def test_power_off_and_reset_end_the_vmm_with_status_0(isola, how, said):
    b = boot(isola, guest(isola, "hello"), "--cmdline", f"isola.exit={how}")
    assert b.rc == 0, b.out + b.err
    assert said in b.err


def test_triple_fault_prints_registers_and_code_and_fails(isola):
    b = boot(isola, guest(isola, "hello"), "--cmdline", "isola.exit=triple")
    assert b.rc == 1, b.err
    assert "guest triple fault (KVM_EXIT_SHUTDOWN)" in b.err
    assert "vCPU 0 registers:" in b.err and "rip=0x" in b.err and "cr3=0x" in b.err
    # The faulting instruction is ud2 (0f 0b), shown in brackets at RIP.
    assert "code:" in b.err and "<0f> 0b" in b.err


def test_boot_timer_logs_the_guest_boot_time(isola):
    b = boot(isola, guest(isola, "hello"), "--boot-timer")
    assert b.rc == 0
    assert "Guest-boot-time =" in b.err and " us " in b.err and "CPU us" in b.err
    b = boot(isola, guest(isola, "hello"))
    assert "Guest-boot-time" not in b.err


def _set_hugepages(n):
    with open("/proc/sys/vm/nr_hugepages", "w") as f:
        f.write(str(n))
    with open("/proc/sys/vm/nr_hugepages") as f:
        return int(f.read())


def test_hugepages_back_guest_memory_when_reserved(isola):
    with open("/proc/sys/vm/nr_hugepages") as f:
        before = int(f.read())
    try:
        # None free: a clear error naming the knob.
        _set_hugepages(0)
        b = boot(isola, guest(isola, "verify"), "--hugepages", "--memory", 64)
        assert b.rc == 1
        assert "2 MiB hugepages" in b.err and "/proc/sys/vm/nr_hugepages" in b.err
        # 64 MiB reserved (and restored after): the guest boots on them.
        if _set_hugepages(32) < 32:
            pytest.skip("the kernel could not reserve 32 hugepages")
        b = boot(isola, guest(isola, "verify"), "--hugepages", "--memory", 64,
                 "--cmdline", "isola.mem=64")
        assert b.rc == 0 and "isola-test: PASS" in b.out, b.out + b.err
    finally:
        _set_hugepages(before)


def test_more_vcpus_than_the_guest_tables_hold(isola):
    # 254 is the most xAPIC IDs allow; the MP table and MADT must carry them all.
    b = boot(isola, guest(isola, "verify"), "--cpus", 254, "--memory", 64,
             "--cmdline", "isola.cpus=254")
    assert b.lines("mptable: cpus=") == ["254"], b.out + b.err
    b = boot(isola, guest(isola, "smp"), "--cpus", 32)
    assert b.rc == 0 and "smp: 32 of 32 cpus online" in b.out, b.out + b.err

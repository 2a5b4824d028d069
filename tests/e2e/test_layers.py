"""The #include lines follow the layers of docs/ARCHITECTURE.md (scripts/layers):
the check that keeps the VMM from growing another dependency on the runtime
and the engine's libraries free of include cycles and of the command line."""
import os

from harness.fixtures import TOP, run

LAYERS = os.path.join(TOP, "scripts", "layers")


def _tree(tmp_path, files):
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


def test_layers_pass_on_the_tree():
    r = run([LAYERS], timeout=60)
    assert r.returncode == 0, r.stderr


def test_layers_name_file_and_line_of_a_sibling_or_higher_include(tmp_path):
    top = _tree(tmp_path, {
        "src/vmm/kvm.c": '#include <stdio.h>\n#include "common/err.h"\n#include "image/store.h"\n',
        "src/net/nat.c": '#include "config.h"\n#include "engine/engine.h"\n',
    })
    r = run([LAYERS, top], timeout=60)
    assert r.returncode == 1
    assert 'src/vmm/kvm.c:3: vmm includes "image/store.h" of a sibling (image)' in r.stderr, r.stderr
    assert 'src/net/nat.c:2: net includes "engine/engine.h" of a higher layer (engine)' in r.stderr, r.stderr
    assert ":1:" not in r.stderr  # generated headers and system headers are fine


def test_layers_refuse_the_vmm_jail_including_the_runtime(tmp_path):
    # The jail once borrowed the runtime's cgroup and pivot_root code; both are
    # in src/sys now, and the VMM must not reach into the runtime again.
    top = _tree(tmp_path, {
        "src/vmm/jail.c": '#include "sys/cgroup/cgroup.h"\n#include "sys/mntns.h"\n'
                          '#include "runtime/cgroup/apply.h"\n#include "runtime/container/rootfs.h"\n',
        "src/sys/mntns.c": '#include "common/err.h"\n#include "runtime/spec/spec.h"\n',
    })
    r = run([LAYERS, top], timeout=60)
    assert r.returncode == 1
    assert 'src/vmm/jail.c:3: vmm includes "runtime/cgroup/apply.h" of a sibling (runtime)' in r.stderr, r.stderr
    assert 'src/vmm/jail.c:4: vmm includes "runtime/container/rootfs.h" of a sibling (runtime)' in r.stderr, r.stderr
    assert 'src/sys/mntns.c:2: sys includes "runtime/spec/spec.h" of a higher layer (runtime)' in r.stderr, r.stderr
    assert "jail.c:1:" not in r.stderr and "jail.c:2:" not in r.stderr, r.stderr
    assert "mntns.c:1:" not in r.stderr, r.stderr


def test_layers_refuse_an_engine_cycle_and_a_library_including_the_cli(tmp_path):
    top = _tree(tmp_path, {
        "src/engine/monitor/monitor.c": '#include "engine/monitor/health.h"\n',
        "src/engine/monitor/health.c": '#include "engine/monitor/monitor.h"\n',
        "src/engine/vm/vm.c": '#include "engine/container/ctr.h"\n#include "engine/cli/runopts.h"\n',
        "src/engine/cli/run.c": '#include "engine/vm/vm.h"\n#include "engine/cli/runopts.h"\n',
    })
    r = run([LAYERS, top], timeout=60)
    assert r.returncode == 1
    assert "include cycle engine/monitor/health -> engine/monitor/monitor -> engine/monitor/health" in r.stderr, \
        r.stderr
    assert 'src/engine/vm/vm.c:2: an engine library includes "engine/cli/runopts.h"' in r.stderr, r.stderr
    assert "cli/run.c" not in r.stderr, r.stderr

"""isola's virtual networks (issue #8): the default NAT network, names
between containers, published ports (TCP, UDP, 127.0.0.1), network
create/ls/inspect/rm/connect/disconnect/prune, IPAM, DHCP for microVM taps,
internal networks, and nothing left behind.

Each Engine runs in a network namespace of its own that plays "the host";
a second namespace plays "outside" (198.51.100.0/24, TEST-NET-2, joined to
the host by a veth).  Nothing leaves those namespaces."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from harness.engine import Engine, import_busybox
from harness.fixtures import TOP, run

# the host's python inside busybox containers, for UDP servers
PY = ["-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro"]
CGI = ('mkdir -p /www/cgi-bin; printf "#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \\$REMOTE_ADDR\\n" '
       '> /www/cgi-bin/ip; chmod +x /www/cgi-bin/ip; echo hello > /www/index.html; exec httpd -f -p 80 -h /www')
UDP_ECHO = ("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('',53))\n"
            "while True:\n d,a=s.recvfrom(512)\n s.sendto(d.upper()+(' from '+a[0]).encode(),a)\n")


@pytest.fixture
def eng(isola, state_root, busybox_rootfs):
    e = Engine(isola, state_root)
    import_busybox(e, busybox_rootfs)
    yield e
    e.close()
    assert e.leftovers() == []


@pytest.fixture
def outside(eng, netns_factory):
    """A namespace "outside" the host: 198.51.100.2, default route via the
    host's 198.51.100.1."""
    out = netns_factory()
    run(["ip", "-n", eng.netns, "link", "add", "isola-up", "type", "veth", "peer", "name", "eth0", "netns",
         out.name], check=True)
    run(["ip", "-n", eng.netns, "addr", "add", "198.51.100.1/24", "dev", "isola-up"], check=True)
    run(["ip", "-n", eng.netns, "link", "set", "isola-up", "up"], check=True)
    out.run(["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"], check=True)
    out.run(["ip", "link", "set", "eth0", "up"], check=True)
    out.run(["ip", "route", "add", "default", "via", "198.51.100.1"], check=True)
    return out


def host(eng, args, **kw):
    """A command in the engine's ("the host's") namespace."""
    return run(eng.ns_cmd(args), **kw)


def wait_http(ns_cmd, url, timeout=10):
    end = time.time() + timeout
    while True:
        r = run(ns_cmd(["busybox", "wget", "-qO-", url]), timeout=10)
        if r.returncode == 0 or time.time() > end:
            return r
        time.sleep(0.2)


def alive(pid):
    """Running, not a zombie waiting for init to reap it."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def nft(eng):
    return host(eng, ["nft", "list", "ruleset"]).stdout


def test_default_network_gives_address_route_and_dns(eng):
    r = eng.ok("run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf")
    assert "inet 10.90.0." in r.stdout and "/16" in r.stdout
    assert "default via 10.90.0.1 dev eth0" in r.stdout
    assert "nameserver 10.90.0.1" in r.stdout and "search dns.isola" in r.stdout
    net = json.loads(eng.ok("network", "inspect", "isola").stdout)[0]
    assert net["Driver"] == "bridge" and net["Interface"] == "isola0"
    assert net["IPAM"]["Config"] == [{"Subnet": "10.90.0.0/16", "Gateway": "10.90.0.1"}]
    assert net["Containers"] == {}  # --rm released the address
    assert net["DnsmasqPid"] > 0


def test_names_resolve_between_containers(eng):
    eng.ok("run", "-d", "--name", "web", "--network-alias", "www", "busybox", "sh", "-c", CGI)
    ip = eng.inspect("web")["NetworkSettings"]["Networks"]["isola"]["IPAddress"]
    r = eng.ok("run", "--rm", "--cap-add", "NET_RAW", "busybox", "sh", "-c",
               "ping -c1 -W5 web && nslookup web.dns.isola && wget -qO- http://www/index.html")
    assert f"PING web ({ip})" in r.stdout and "1 packets received" in r.stdout
    assert ip in r.stdout.split("web.dns.isola")[1]
    assert r.stdout.endswith("hello\n")
    # the container's own /etc/hosts names itself with its address
    hosts = eng.ok("exec", "web", "cat", "/etc/hosts").stdout
    assert f"{ip}\t" in hosts and "web" in hosts


def test_nat_to_outside_shows_the_hosts_address(eng, outside):
    srv = outside.popen(["python3", "-c",
                         "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                         "s.bind(('0.0.0.0',9000));s.listen();print('ready',flush=True)\n"
                         "c,a=s.accept();c.sendall((a[0]+'\\n').encode());c.close()"],
                        stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline() == "ready\n"
    r = eng.ok("run", "--rm", "busybox", "nc", "198.51.100.2", "9000")
    assert r.stdout == "198.51.100.1\n"  # masqueraded
    srv.wait(timeout=10)
    assert "masquerade" in nft(eng) and "10.90.0.0/16" in nft(eng)


def test_published_ports_tcp_udp_and_loopback(eng, outside):
    eng.ok("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c", CGI)
    eng.ok("run", "-d", "--name", "udp", "-p", "5353:53/udp", *PY, "busybox", "/usr/bin/python3", "-c", UDP_ECHO)
    assert eng.ok("port", "web").stdout == "80/tcp -> 0.0.0.0:8080\n"
    assert eng.ok("port", "udp", "53/udp").stdout == "53/udp -> 0.0.0.0:5353\n"
    assert "0.0.0.0:8080->80/tcp" in eng.ok("ps").stdout
    # from outside: the container sees the client's own address
    r = wait_http(outside.cmd, "http://198.51.100.1:8080/cgi-bin/ip")
    assert r.stdout.strip() == "[::ffff:198.51.100.2]", r
    # from the host itself, on its loopback address and on its own address
    assert wait_http(lambda a: eng.ns_cmd(a), "http://127.0.0.1:8080/index.html").stdout == "hello\n"
    assert wait_http(lambda a: eng.ns_cmd(a), "http://198.51.100.1:8080/index.html").stdout == "hello\n"
    # UDP from outside, source kept
    code = ("import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(1)\n"
            "for i in range(20):\n try:\n  s.sendto(b'ping',('198.51.100.1',5353));print(s.recv(512).decode());break\n"
            " except OSError: time.sleep(0.3)\n")
    assert outside.run(["python3", "-c", code]).stdout == "PING from 198.51.100.2\n"
    # one host port, one container
    r = eng("run", "--rm", "-p", "8080:81", "busybox", "true")
    assert r.returncode == 125 and "8080/tcp is published already by container web" in r.stderr
    eng.ok("stop", "-t", "1", "web")
    assert "dport 8080" not in nft(eng)  # a stopped container publishes nothing
    assert "dport 5353" in nft(eng)


def test_publish_flag_errors(eng):
    for bad, says in [("80:80:80:80", "HOSTIP"), ("x:80", "not a host port"), ("80/sctp", "tcp or udp"),
                      ("1.2.3:80:80", "IPv4"), ("8000-8001:80", "ranges differ")]:
        r = eng("run", "--rm", "-p", bad, "busybox", "true")
        assert r.returncode == 125 and says in r.stderr, (bad, r.stderr)
    r = eng("run", "--rm", "--network", "none", "-p", "80:80", "busybox", "true")
    assert r.returncode == 125 and "named network" in r.stderr


def test_network_lifecycle_leaves_nothing(eng):
    eng.ok("network", "create", "--subnet", "10.77.0.0/24", "--gateway", "10.77.0.254", "net1")
    ls = eng.ok("network", "ls").stdout
    assert "net1" in ls and "10.77.0.0/24" in ls and "isola1" in ls
    eng.ok("run", "-d", "--name", "a", "--network", "net1", "--ip", "10.77.0.10", "-p", "8081:80", "busybox",
           "sleep", "600")
    s = eng.inspect("a")["NetworkSettings"]["Networks"]["net1"]
    assert s["IPAddress"] == "10.77.0.10" and s["Gateway"] == "10.77.0.254" and s["MacAddress"] == "0a:58:0a:4d:00:0a"
    r = eng("run", "--rm", "--network", "net1", "--ip", "10.77.0.10", "busybox", "true")
    assert r.returncode == 125 and "taken by `a`" in r.stderr
    r = eng("network", "rm", "net1")
    assert r.returncode == 125 and "in use by a" in r.stderr
    net = json.loads(eng.ok("network", "inspect", "net1").stdout)[0]
    pid, rundir = net["DnsmasqPid"], eng.root / "run/networks/net1"
    assert pid > 0 and (rundir / "hosts").read_text().startswith("10.77.0.10\ta ")
    assert "0a:58:0a:4d:00:0a,10.77.0.10" in (rundir / "dhcp-hosts").read_text()
    eng.ok("rm", "-f", "a")
    assert json.loads(eng.ok("network", "inspect", "net1").stdout)[0]["Containers"] == {}
    eng.ok("network", "rm", "net1")
    assert "net1" not in eng.ok("network", "ls").stdout
    assert "isola1" not in host(eng, ["ip", "link"]).stdout
    assert "net1" not in nft(eng) and "10.77.0." not in nft(eng)
    assert not rundir.exists()
    assert not alive(pid)
    # prune keeps the default network, removes unused others
    eng.ok("network", "create", "spare")
    assert eng.ok("network", "prune").stdout == "spare\n"
    # the default network is made on first use; with no network left the
    # table goes too
    eng.ok("run", "--rm", "busybox", "true")
    assert "isola0" in host(eng, ["ip", "link"]).stdout
    eng.ok("network", "rm", "isola")
    assert "isola" not in nft(eng)


def test_network_rm_returns_once_its_dnsmasq_has_exited(eng):
    """A dying dnsmasq loses its command line before it has exited; rm must
    wait for the exit itself, or the next command (and the leak check)
    still finds it, in state D."""
    for i in range(10):
        eng.ok("network", "create", "--subnet", f"10.78.{i}.0/24", f"dns{i}")
        pid = json.loads(eng.ok("network", "inspect", f"dns{i}").stdout)[0]["DnsmasqPid"]
        assert pid > 0
        eng.ok("network", "rm", f"dns{i}")
        assert not alive(pid), f"round {i}: dnsmasq {pid} still there after network rm"
    # one that does not answer SIGTERM (stopped, or too slow on a busy
    # machine) is killed, and rm still returns only once it has exited
    eng.ok("network", "create", "--subnet", "10.78.10.0/24", "stuck")
    pid = json.loads(eng.ok("network", "inspect", "stuck").stdout)[0]["DnsmasqPid"]
    os.kill(pid, signal.SIGSTOP)
    eng.ok("network", "rm", "stuck")
    assert not alive(pid), f"a stopped dnsmasq {pid} still there after network rm"


def test_overlapping_and_bad_networks_are_refused(eng):
    eng.ok("network", "create", "--subnet", "10.77.0.0/16", "a")
    for args, says in [(["--subnet", "10.77.1.0/24", "b"], "overlaps network `a` (10.77.0.0/16)"),
                       (["--subnet", "10.0.0.0/8", "b"], "overlaps network"),
                       (["--subnet", "10.78.0.1/24", "b"], "host bits set: did you mean 10.78.0.0/24"),
                       (["--subnet", "10.78.0.0/33", "b"], "prefix length"),
                       (["--subnet", "10.78.0.0/24", "--gateway", "10.79.0.1", "b"], "not a host address"),
                       (["a"], "exists already"), (["bad/name"], "not a network name"),
                       (["--driver", "overlay", "b"], "bridge and macvlan"),
                       (["--driver", "macvlan", "b"], "--parent"),
                       (["--parent", "nothere", "b"], "no such link")]:
        r = eng("network", "create", *args)
        assert r.returncode == 125 and says in r.stderr, (args, r.stderr)
    # a subnet already on one of the host's links
    host(eng, ["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"], check=True)
    host(eng, ["ip", "addr", "add", "10.80.0.1/24", "dev", "lan0"], check=True)
    r = eng("network", "create", "--subnet", "10.80.0.0/16", "b")
    assert r.returncode == 125 and "overlaps 10.80.0.0/24 on `lan0`" in r.stderr, r.stderr
    r = eng("run", "--rm", "--network", "absent", "busybox", "true")
    assert r.returncode == 125 and "no network `absent`" in r.stderr
    r = eng("run", "--rm", "--network", "a", "--ip", "10.99.0.1", "busybox", "true")
    assert r.returncode == 125 and "not a free host address of network `a`" in r.stderr
    assert eng.leftovers() == []


def test_internal_network_reaches_only_itself(eng, outside):
    eng.ok("network", "create", "--internal", "inner")
    eng.ok("run", "-d", "--name", "peer", "--network", "inner", "busybox", "sh", "-c", CGI)
    r = eng("run", "--rm", "--network", "inner", "busybox", "sh", "-c",
            "wget -qO- http://peer/index.html; ip route; nc -w 2 198.51.100.2 9000 </dev/null; echo rc=$?")
    assert r.stdout.startswith("hello\n") and "default" not in r.stdout and "rc=1" in r.stdout
    assert 'iifname "isola1" oifname != "isola1" drop' in nft(eng)


def test_connect_and_disconnect_a_running_container(eng):
    eng.ok("network", "create", "--subnet", "10.78.0.0/24", "second")
    eng.ok("run", "-d", "--name", "c", "busybox", "sleep", "600")
    eng.ok("network", "connect", "second", "c")
    r = eng.ok("exec", "c", "ip", "-4", "-o", "addr")
    assert "eth1" in r.stdout and "10.78.0.2/24" in r.stdout and "eth0" in r.stdout
    assert "10.78.0.2" in (eng.root / "run/networks/second/hosts").read_text()
    r = eng("network", "connect", "second", "c")
    assert r.returncode == 125 and "already" in r.stderr
    eng.ok("network", "disconnect", "second", "c")
    assert "eth1" not in eng.ok("exec", "c", "ip", "-o", "link").stdout
    assert "c" not in json.dumps(json.loads(eng.ok("network", "inspect", "second").stdout)[0]["Containers"])
    r = eng("network", "disconnect", "isola", "c")
    assert r.returncode == 125 and "only one" in r.stderr
    # after a restart the container keeps its address
    ip = eng.inspect("c")["NetworkSettings"]["IPAddress"]
    eng.ok("restart", "-t", "1", "c")
    assert f"{ip}/16" in eng.ok("exec", "c", "ip", "-4", "-o", "addr").stdout


def test_several_networks_at_run(eng):
    eng.ok("network", "create", "--subnet", "10.78.0.0/24", "n2")
    r = eng.ok("run", "--rm", "--network", "isola,n2", "busybox", "ip", "-4", "-o", "addr")
    assert "eth0" in r.stdout and "10.90.0." in r.stdout and "eth1" in r.stdout and "10.78.0." in r.stdout


def dhcp_behind_tap(eng, guest, tap, mac):
    """busybox udhcpc in namespace `guest` on a tap whose frames go to and
    from the engine's tap `tap`; its output."""
    relay = subprocess.Popen(["python3", TOP / "tests/e2e/harness/taprelay.py", eng.netns, tap, guest.name, "eth0"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert relay.stdout.readline() == "ready\n"
        if mac:
            guest.run(["ip", "link", "set", "eth0", "address", mac], check=True)
        guest.run(["ip", "link", "set", "eth0", "up"], check=True)
        r = guest.run(["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-s", "/bin/true"], timeout=60)
        return r.stdout + r.stderr
    finally:
        relay.kill()
        relay.wait()


def test_vm_tap_takes_its_address_by_dhcp(eng, netns_factory, agent, monkeypatch, tmp_path):
    """A --vm container gets a tap on the bridge and a static DHCP lease
    for its MAC.  A Linux guest cannot boot here (PVM), so a DHCP client in
    a test namespace plays the guest behind the tap (harness/taprelay.py
    copies frames as isola-vmm's virtio-net would)."""
    monkeypatch.setenv("ISOLA_VM_AGENT", f"unix:{agent}")
    kernel = tmp_path / "kernel"
    kernel.write_bytes(b"not booted\n")
    eng.ok("run", "-d", "--vm", "--kernel", kernel, "--name", "vm", "busybox", "sleep", "600")
    st = eng.inspect("vm")["NetworkSettings"]["Networks"]["isola"]
    cid = eng.inspect("vm")["Id"]
    tap = f"isl{cid[:9]}0"
    plan = json.loads((eng.containers_dir() / cid / "vm.json").read_text())
    assert f"tap={tap},mac={st['MacAddress']}" in plan["vmm"]
    cmdline = plan["vmm"][plan["vmm"].index("--cmdline") + 1]
    assert f"isola.ip={st['IPAddress']}/16 isola.gw=10.90.0.1 isola.dns=10.90.0.1" in cmdline
    assert "master isola0" in host(eng, ["ip", "-o", "link", "show", tap]).stdout
    out = dhcp_behind_tap(eng, netns_factory(), tap, st["MacAddress"])
    assert f"lease of {st['IPAddress']} obtained" in out, out
    leases = (eng.root / "run/networks/isola/leases").read_text()
    assert st["MacAddress"] in leases and st["IPAddress"] in leases
    eng.ok("rm", "-f", "vm")
    assert tap not in host(eng, ["ip", "link"]).stdout


def test_killed_monitor_then_rm_leaves_no_network_state(eng):
    eng.ok("run", "-d", "--name", "k", "-p", "8082:80", "busybox", "sleep", "600")
    mon = eng.inspect("k")["State"]["MonitorPid"]
    subprocess.run(["kill", "-9", str(mon)])
    eng.ok("rm", "-f", "k")
    assert "dport 8082" not in nft(eng)
    eng.ok("run", "--rm", "-p", "8082:80", "busybox", "true")
    assert json.loads(eng.ok("network", "inspect", "isola").stdout)[0]["Containers"] == {}
    assert "isl" not in host(eng, ["ip", "-o", "link"]).stdout.replace("isola0", "")


@pytest.fixture
def lan(eng, netns_factory):
    """An existing host bridge `lanbr` joined to a namespace playing the LAN,
    whose own dnsmasq (not the engine's) serves DHCP on 192.0.2.0/24."""
    ns = netns_factory()
    host(eng, ["ip", "link", "add", "lanbr", "type", "bridge"], check=True)
    host(eng, ["ip", "link", "set", "lanbr", "up"], check=True)
    host(eng, ["ip", "link", "add", "lanup", "master", "lanbr", "type", "veth", "peer", "name", "eth0", "netns",
               ns.name], check=True)
    host(eng, ["ip", "link", "set", "lanup", "up"], check=True)
    ns.run(["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"], check=True)
    ns.run(["ip", "link", "set", "eth0", "up"], check=True)
    srv = ns.popen(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--interface=eth0",
                    "--bind-interfaces", "--dhcp-range=192.0.2.100,192.0.2.150,1h", "--dhcp-leasefile=/dev/null",
                    "--dhcp-authoritative", "--dhcp-option=option:dns-server,192.0.2.1",
                    "--dhcp-option=option:router,192.0.2.1"], stderr=subprocess.DEVNULL)
    ns.server = srv
    yield ns
    srv.kill()
    srv.wait()


def test_bridged_network_vm_takes_dhcp_from_the_lan(eng, lan, netns_factory, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("ISOLA_VM_AGENT", f"unix:{agent}")
    kernel = tmp_path / "kernel"
    kernel.write_bytes(b"not booted\n")
    eng.ok("network", "create", "--parent", "lanbr", "lan")
    net = json.loads(eng.ok("network", "inspect", "lan").stdout)[0]
    assert net["Mode"] == "bridged" and net["IPAM"]["Driver"] == "dhcp" and "DnsmasqPid" not in net
    eng.ok("run", "-d", "--vm", "--kernel", kernel, "--name", "vm", "--network", "lan", "busybox", "sleep", "600")
    tap = f"isl{eng.inspect('vm')['Id'][:9]}0"
    assert "master lanbr" in host(eng, ["ip", "-o", "link", "show", tap]).stdout
    out = dhcp_behind_tap(eng, netns_factory(), tap, None)
    assert "lease of 192.0.2.1" in out, out
    eng.ok("rm", "-f", "vm")
    r = eng("network", "rm", "lan")
    assert r.returncode == 0 and "lanbr" in host(eng, ["ip", "link"]).stdout  # not ours: kept


def test_bridged_network_container_takes_dhcp_from_the_lan(eng, lan):
    """A container on an existing host bridge: a veth on the bridge and
    busybox udhcpc in its namespace for as long as it runs, calling isola
    back to set the lease's address, route and DNS."""
    eng.ok("network", "create", "--parent", "lanbr", "lan")
    eng.ok("run", "-d", "--name", "onlan", "--network", "lan", "--cap-add", "NET_RAW", "busybox", "sleep", "600")
    mac = eng.inspect("onlan")["NetworkSettings"]["Networks"]["lan"]["MacAddress"]
    assert mac.startswith("02:")
    r = eng.ok("exec", "onlan", "sh", "-c", "ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf; "
               "ping -c1 -W5 192.0.2.1; cat /sys/class/net/eth0/address")
    assert "inet 192.0.2.1" in r.stdout and "/24" in r.stdout, r.stdout
    assert "default via 192.0.2.1" in r.stdout and "nameserver 192.0.2.1" in r.stdout
    assert "1 packets received" in r.stdout and mac in r.stdout
    client = [p for p in run(["pgrep", "-f", "udhcpc -f -R -i eth0"]).stdout.split()]
    assert client, "the DHCP client runs while the container does"
    eng.ok("rm", "-f", "onlan")
    assert all(not alive(int(p)) for p in client)
    eng.ok("network", "rm", "lan")


def test_macvlan_network_with_static_addresses(eng, lan):
    eng.ok("network", "create", "--driver", "macvlan", "--parent", "lanbr", "--subnet", "192.0.2.0/24",
           "--gateway", "192.0.2.1", "mv")
    r = eng.ok("run", "--rm", "--network", "mv", "--ip", "192.0.2.20", "--cap-add", "NET_RAW", "busybox", "sh", "-c",
               "ip -4 -o addr show eth0; ping -c1 -W5 192.0.2.1")
    assert "192.0.2.20/24" in r.stdout and "1 packets received" in r.stdout
    # without --subnet a macvlan network asks the LAN's DHCP server too
    eng.ok("network", "create", "--driver", "macvlan", "--parent", "lanbr", "mvd")
    r = eng.ok("run", "--rm", "--network", "mvd", "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
    assert "inet 192.0.2.1" in r.stdout



@pytest.fixture
def iputils_ping(tmp_path):
    """iputils' ping, which falls back to an ICMP datagram socket without
    CAP_NET_RAW (busybox 1.35's ping needs a raw socket), copied without
    Debian's cap_net_raw file capability: a file capability outside the
    container's bounding set makes execve fail."""
    d = tmp_path / "iputils"
    d.mkdir()
    shutil.copy("/usr/bin/ping", d / "ping")
    return ["-v", f"{d}:/opt/iputils:ro", *PY], "/opt/iputils/ping"


def test_ping_between_containers_without_net_raw(eng, iputils_ping):
    """The engine sets net.ipv4.ping_group_range to "0 2147483647" in every
    network namespace it makes (as Podman does), so ping works through ICMP
    datagram sockets without CAP_NET_RAW, as root and as another user;
    --sysctl overrides it."""
    mounts, ping = iputils_ping
    eng.ok("network", "create", "pingnet")
    eng.ok("run", "-d", "--name", "target", "--network", "pingnet", "busybox", "sleep", "600")
    for user in ([], ["-u", "1000"]):
        r = eng("run", "--rm", "--network", "pingnet", *user, *mounts, "busybox", ping, "-c1", "-W5", "target")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 packets transmitted, 1 received" in r.stdout
    # --sysctl overrides the default: nobody's group may ping any more
    r = eng("run", "--rm", "--network", "pingnet", "-u", "1000:1000", "--sysctl", "net.ipv4.ping_group_range=0 0",
            *mounts, "busybox", "sh", "-c", f"cat /proc/sys/net/ipv4/ping_group_range; {ping} -c1 -W5 target")
    assert r.returncode != 0 and r.stdout.startswith("0\t0\n"), r.stdout + r.stderr


def test_sysctl_flag_sets_namespaced_sysctls_only(eng):
    r = eng.ok("run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=100", "busybox",
               "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni")
    assert r.stdout == "1\n100\n"
    assert eng.ok("create", "--sysctl", "net.core.somaxconn=512", "busybox").stdout.strip()
    for args, msg in ((["--sysctl", "kernel.panic=1"], "would change the host"),
                      (["--sysctl", "net.ipv4.ip_forward"], "KEY=VALUE"),
                      (["--sysctl", "net..x=1"], "not a sysctl name"),
                      (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "network namespace"),
                      (["--network", "container:x", "--sysctl", "net.ipv4.ip_forward=1"], "network namespace")):
        r = eng("run", "--rm", *args, "busybox", "true")
        assert r.returncode == 125 and msg in r.stderr, (args, r.stderr)

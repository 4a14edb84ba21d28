"""The flow handoff on a real kernel (floatip_agent.handoff rules loaded by floatip_agent.nftables).

The moment it exists for, made deterministic: the client opens a TCP connection to the VIP
while its neighbour entry points at the old holder and sends half a request; then the new
holder takes the address and the client's neighbour entry flips to the new MAC (what the
gratuitous ARP / unsolicited NA does); then the client sends the rest. Proves, in both families:

- without the handoff the new holder resets the connection (the failure it removes);
- with the handoff loaded in the new holder's namespace the old holder's socket answers the
  whole request, straight to the client;
- a connection opened after the flip is served by the new holder (its SYN is never handed off);
- loading the empty ruleset leaves no floatip table behind.
"""

from __future__ import annotations

import asyncio
import ipaddress
import select
import subprocess
import sys
from collections.abc import Callable

import pytest

from floatip_agent import handoff, nftables
from floatip_lab import hosts, netns

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

PORT = 8080
VIPS = {4: ipaddress.ip_address("192.0.2.100"), 6: ipaddress.ip_address("2001:db8:f1::100")}

SERVER = """
import socket, sys
family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
server = socket.socket(family)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", int(sys.argv[2])))
server.listen()
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    with conn:
        conn.makefile("rb").readline()
        conn.sendall(sys.argv[3].encode() + b"\\n")
"""

CLIENT = """
import socket, sys
source = ("", int(sys.argv[3])) if len(sys.argv) > 3 else None
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5, source_address=source)
conn.sendall(b"GET half")
print("connected", flush=True)
sys.stdin.readline()
try:
    conn.sendall(b" and the rest\\n")
    print("answer", conn.recv(100).decode().strip(), flush=True)
    while conn.recv(100):  # until the server's FIN: it closes first and keeps the TIME_WAIT
        pass
except OSError as exc:
    print("error", type(exc).__name__, flush=True)
"""


def _line(process: subprocess.Popen[str], timeout: float = 5.0) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output within {timeout} s"
    return process.stdout.readline().strip()


def _add_vip(host: hosts.Host, vip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if vip.version == 4:
        host.run(["ip", "addr", "add", f"{vip}/32", "dev", "eth0"])
    else:
        host.run(["ip", "addr", "add", f"{vip}/128", "dev", "eth0", "nodad"])


def _ask_across_the_flip(
    topo: netns.Topology, version: int, *, handed_off: bool, source_port: int = 0
) -> str:
    """Half a request to the old holder, the flip, the rest: what the client got."""
    client, old, new = topo["client"], topo["old"], topo["new"]
    vip = VIPS[version]
    # Not `Host.popen`: the client needs a stdin to be told when to send the rest.
    with subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            client.netns,
            sys.executable,
            "-c",
            CLIENT,
            str(vip),
            str(PORT),
            str(source_port),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as client_side:
        try:
            assert _line(client_side) == "connected"
            previous = old.ip if version == 4 else old.ip6
            if handed_off:
                flip = handoff.Handoff(vip, "eth0", previous, old.mac)
                asyncio.run(nftables.load(handoff.ruleset([flip]), netns=new.netns))
            _add_vip(new, vip)
            client.run(["ip", "neigh", "replace", str(vip), "lladdr", new.mac, "dev", "eth0"])
            assert client_side.stdin is not None
            client_side.stdin.write("go\n")
            client_side.stdin.flush()
            return _line(client_side)
        finally:
            client_side.kill()


def _ask_anew(topo: netns.Topology, version: int, source_port: int = 0) -> str:
    """A fresh connection to the VIP from the client: who answers."""
    done = topo["client"].run(
        [sys.executable, "-c", CLIENT, str(VIPS[version]), str(PORT), str(source_port)],
        input="go\n",
    )
    return done.stdout.splitlines()[-1]


def _floatip_tables(host: hosts.Host) -> list[str]:
    listed = host.run(["nft", "list", "tables"]).stdout
    return [line for line in listed.splitlines() if handoff.TABLE in line]


@pytest.fixture(params=[4, 6], ids=["ipv4", "ipv6"])
def servers(lan: LanFactory, request: pytest.FixtureRequest) -> tuple[netns.Topology, int]:
    """client, old and new on one LAN; old holds the VIP; both run a one-line TCP server."""
    version: int = request.param
    topo = lan("client", "old", "new", ipv6=version == 6)
    _add_vip(topo["old"], VIPS[version])
    for name in ("old", "new"):
        server = topo[name].popen(
            [sys.executable, "-c", SERVER, str(version), str(PORT), name],
            stdout=subprocess.PIPE,
        )
        assert _line(server) == "listening"
    return topo, version


def test_without_handoff_the_new_holder_resets_the_connection(
    servers: tuple[netns.Topology, int],
) -> None:
    topo, version = servers
    assert _ask_across_the_flip(topo, version, handed_off=False) == "error ConnectionResetError"


def test_handoff_lets_the_old_holder_finish_the_connection(
    servers: tuple[netns.Topology, int],
) -> None:
    topo, version = servers
    assert _ask_across_the_flip(topo, version, handed_off=True) == "answer old"
    assert _ask_anew(topo, version) == "answer new", "a new connection is the new holder's"
    new = topo["new"]
    assert len(_floatip_tables(new)) == 1
    asyncio.run(nftables.load(handoff.ruleset([]), netns=new.netns))
    assert _floatip_tables(new) == []


def test_handoff_despite_a_stale_connection_with_the_same_ports(
    servers: tuple[netns.Topology, int],
) -> None:
    """The new holder held the VIP before and served the very same client port then.

    Its socket of that connection is in TIME_WAIT and its conntrack entry is stale (a busy
    client reuses ports within seconds). A segment of the straddling connection matches both;
    it must still go to the old holder, not stall on the TIME_WAIT socket.
    """
    topo, version = servers
    client, old, new = topo["client"], topo["old"], topo["new"]
    vip, port = VIPS[version], 40123
    earlier = handoff.Handoff(vip, "eth0", old.ip if version == 4 else old.ip6, old.mac)
    asyncio.run(nftables.load(handoff.ruleset([earlier]), netns=new.netns))  # conntrack on
    _add_vip(new, vip)
    client.run(["ip", "neigh", "replace", str(vip), "lladdr", new.mac, "dev", "eth0"])
    assert _ask_anew(topo, version, source_port=port) == "answer new"
    new.run(["ip", "addr", "del", f"{vip}/{vip.max_prefixlen}", "dev", "eth0"])
    asyncio.run(nftables.load(handoff.ruleset([]), netns=new.netns))
    client.run(["ip", "neigh", "replace", str(vip), "lladdr", old.mac, "dev", "eth0"])
    waiting = new.run(["ss", "-Htan", "state", "time-wait"]).stdout
    assert f":{port}" in waiting, f"the earlier connection is in TIME_WAIT on new: {waiting!r}"
    assert _ask_across_the_flip(topo, version, handed_off=True, source_port=port) == "answer old"

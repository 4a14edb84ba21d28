"""IPv6 end to end, on one two-node lab with an IPv6 data LAN (``lab up --ipv6``).

Proves, with the client requesting ``http://[VIP]/`` every 10 ms:
- an IPv6 VirtualIP becomes Ready on its preferred node, which carries it on eth0 without a
  DAD stall (not tentative, not dadfailed); only that node carries it, the client is
  answered by it and its IPv6 neighbour entry is that node's MAC;
- when the holder loses power the other node takes over: the client is answered by it, its
  neighbour entry flips to the new MAC (an unsolicited NA with the override flag) and the
  history records one Failover at epoch+1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from floatip_lab import session
from tests.e2e.conftest import MAC, holders, reset, running_lab, status, watch

VIP = "2001:db8:f1::100"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=2, ipv6=True) as lab:
        yield lab


def _flags(lab: session.Session, host: str, address: str) -> set[str]:
    out = lab.run(host, ["ip", "-j", "-6", "addr", "show", "dev", "eth0"]).stdout
    for link in json.loads(out):
        for entry in link.get("addr_info", ()):
            if entry.get("local") == address:
                return {k for k in ("tentative", "dadfailed", "optimistic") if entry.get(k)}
    raise AssertionError(f"{address} is not on {host}'s eth0")


def test_ipv6_vip_ready_answered_and_fails_over(lab: session.Session) -> None:
    reset(lab)
    lab.apply_vip("v6", {"address": f"{VIP}/64", "preferredNodes": ["server1"]})
    lab.wait_condition("v6", "Ready", timeout=30)
    lab.wait_holder("v6", "server1", timeout=30)
    assert _flags(lab, "server1", VIP) == set(), "the VIP waits for DAD (or failed it)"
    assert holders(lab, VIP) == ["server1"]
    lab.wait_answer(VIP, "server1", timeout=30)
    assert session.neighbour(lab, "client", VIP) == MAC["server1"]
    before = status(lab, "v6")
    assert before["announcement"]["mac"] == MAC["server1"]
    with watch(lab, VIP, arp=False) as seen:
        time.sleep(0.5)
        at = lab.fault("kill-node", "server1")
        lab.wait_holder("v6", "server2", timeout=30)
        lab.wait_answer(VIP, "server2", timeout=30)
        time.sleep(1.0)  # a recording window after the takeover
    [record] = seen
    assert any(r.ok and r.answer == "server2" and r.start >= at for r in record.requests)
    assert record.last_answer() == "server2"
    assert session.neighbour(lab, "client", VIP) == MAC["server2"]
    assert VIP in lab.addresses_on("server2")
    assert _flags(lab, "server2", VIP) == set()
    after = status(lab, "v6")
    assert after["epoch"] == before["epoch"] + 1
    last = after["history"][-1]
    assert (last["from"], last["to"], last["reason"]) == ("server1", "server2", "Failover")

"""Ownership verified while holding (floatip_agent.verifying), and the frames that ask and answer.

Proves: each held address is probed once a period, the period being the profile's interval
until the node holds more addresses than its budget allows, then held / budget, so a node
never sends more than the budget a second; nothing is probed when nothing is held; the probes
are RFC 5227 ARP probes / DAD solicitations, which the question parser reads back (a host
resolving an address) while a gratuitous ARP or an NA asks nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from floatip_agent import claims, decisions, packets, verifying
from tests.unit.agent import fakes


def test_the_period_follows_the_budget() -> None:
    assert verifying.period(1, interval=1.0, budget=100) == 1.0
    assert verifying.period(100, interval=1.0, budget=100) == 1.0
    assert verifying.period(1000, interval=1.0, budget=100) == 10.0


async def test_every_held_address_is_probed_each_period() -> None:
    world = fakes.World()
    verifier = verifying.Verifier(
        held=world.table, wire=world.wire, interval=0.2, budget=100.0, counters=world.counters
    )
    task = asyncio.create_task(verifier.run())
    await asyncio.sleep(0.1)
    assert world.wire.verified == []  # nothing held, nothing probed
    for index in range(3):
        address = ipaddress.ip_address(f"192.0.2.{100 + index}")
        world.table.hold(f"vip{index}", decisions.Held(address, "eth0", 1))
    await asyncio.sleep(0.75)
    task.cancel()
    probed = [a for _, batch in world.wire.verified for a in batch]
    counts = {str(a): probed.count(a) for a in set(probed)}
    assert set(counts) == {"192.0.2.100", "192.0.2.101", "192.0.2.102"}
    assert all(2 <= n <= 5 for n in counts.values()), counts  # about one per 0.2 s
    assert world.sample("floatip_agent_verification_probes_total") == len(probed)


@pytest.mark.parametrize(
    "address", [ipaddress.ip_address("192.0.2.100"), ipaddress.ip_address("2001:db8::100")]
)
def test_a_probe_is_a_question_an_announcement_is_not(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    mac = "02:00:00:00:00:01"
    assert claims.parse_question(packets.probe(address, mac=mac)) == claims.Question(address, mac)
    assert claims.parse_question(packets.announcement(address, mac=mac)) is None
    assert claims.parse_question(b"\x00" * 10) is None

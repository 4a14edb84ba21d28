"""The pure parts of announcing and probing. Proves:

- the announcement schedule is a burst of `burst_count` frames `burst_interval` apart and,
  unless turned off with 0, the same burst again `second_burst_delay` later;
- a probe's answers are sorted into foreign and peer MACs; claims on other addresses and our
  own MAC are ignored; only foreign answers make the address unavailable.
"""

from __future__ import annotations

import ipaddress

import pytest

from floatip.api import model
from floatip_agent import announcements, claims, probing

VIP = ipaddress.IPv4Address("192.0.2.100")
OWN, PEER, INTRUDER = "02:f1:00:00:00:01", "02:f1:00:00:00:02", "02:f1:00:00:00:03"


def test_default_schedule() -> None:
    assert announcements.schedule(model.Announce()) == pytest.approx([0.0, 0.1, 0.2, 5.0, 5.1, 5.2])


def test_schedule_without_second_burst() -> None:
    tuning = model.Announce(
        burst_count=4, burst_interval_milliseconds=20, second_burst_delay_seconds=0
    )
    assert announcements.schedule(tuning) == pytest.approx([0.0, 0.02, 0.04, 0.06])


def claim(mac: str, address: str = str(VIP)) -> claims.Claim:
    return claims.Claim(ipaddress.ip_address(address), mac, claims.ClaimKind.ARP_REPLY)


@pytest.mark.parametrize(
    ("seen", "foreign", "peers"),
    [
        ([], set(), set()),
        ([claim(INTRUDER)], {INTRUDER}, set()),
        ([claim(PEER)], set(), {PEER}),
        ([claim(PEER), claim(INTRUDER), claim(INTRUDER)], {INTRUDER}, {PEER}),
        ([claim(OWN)], set(), set()),
        ([claim(INTRUDER, "192.0.2.101")], set(), set()),
    ],
)
def test_classify(seen: list[claims.Claim], foreign: set[str], peers: set[str]) -> None:
    result = probing.classify(seen, address=VIP, own_mac=OWN, peer_macs=[PEER.upper()])
    assert result == probing.ProbeResult(frozenset(foreign), frozenset(peers))
    assert result.free == (not foreign)

"""spec.address: which strings are usable virtual IPs, and what each refusal says.

Proves: IPv4 and IPv6 with and without a prefix parse; every class of unusable address
(malformed, zone, IPv4-mapped, prefix out of range, network, broadcast, multicast, loopback,
unspecified, link-local, limited broadcast) is refused with a message naming the reason.
"""

from __future__ import annotations

import ipaddress

import pytest

from floatip.api import addresses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.10", "192.0.2.10/32"),
        ("192.0.2.10/24", "192.0.2.10/24"),
        ("10.0.0.1/31", "10.0.0.1/31"),
        ("10.0.0.0/31", "10.0.0.0/31"),  # RFC 3021: both /31 addresses are hosts
        ("10.0.0.7/32", "10.0.0.7/32"),
        ("2001:db8::10", "2001:db8::10/128"),
        ("2001:db8::10/64", "2001:db8::10/64"),
        ("fd00::1/8", "fd00::1/8"),
        ("240.0.0.1", "240.0.0.1/32"),  # Go's IsGlobalUnicast accepts class E, and so do we
    ],
)
def test_usable_addresses_parse(text: str, expected: str) -> None:
    assert addresses.parse_address(text) == ipaddress.ip_interface(expected)
    assert addresses.address_problems(text) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not an IPv4 or IPv6 address"),
        ("300.1.1.1", "not an IPv4 or IPv6 address"),
        ("10.0.0.01", "not an IPv4 or IPv6 address"),
        ("web.example.com", "not an IPv4 or IPv6 address"),
        ("10.0.0.1/", "out of range"),
        ("10.0.0.1/33", "out of range"),
        ("10.0.0.1/0", "out of range"),
        ("10.0.0.1/024", "out of range"),
        ("10.0.0.1/255.255.255.0", "out of range"),
        ("2001:db8::1/129", "out of range"),
        ("fe80::1%eth0", "zone"),
        ("::ffff:192.0.2.1", "IPv4-mapped"),
        ("192.0.2.0/24", "network address"),
        ("2001:db8::/64", "network address"),
        ("192.0.2.255/24", "broadcast address"),
        ("10.255.255.255/8", "broadcast address"),
        ("224.0.0.18", "multicast"),
        ("ff02::1", "multicast"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("255.255.255.255", "broadcast"),
    ],
)
def test_unusable_addresses_are_refused_with_the_reason(text: str, reason: str) -> None:
    problems = addresses.address_problems(text)
    assert problems, text
    assert reason in " ".join(problems)
    with pytest.raises(addresses.AddressError, match=reason):
        addresses.parse_address(text)


def test_all_reasons_are_reported_together() -> None:
    problems = addresses.address_problems("127.0.0.0/8")
    assert len(problems) == 2
    assert "loopback" in problems[0]
    assert "network address" in problems[1]

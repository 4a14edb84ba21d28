"""The agent Lease's ``floatip.io/interfaces`` annotation, read once for both sides (floatip.api.leases).

Proves: entries come back in order with their interface names, both families; entries with no
name, no address or a malformed address are skipped, never raised.
"""

from __future__ import annotations

import ipaddress

from floatip.api import leases


def test_interfaces_in_order_both_families() -> None:
    text = "eth0=192.0.2.11/24,2001:db8:f1::11/64;eth1=198.51.100.11/24"
    assert list(leases.interfaces(text)) == [
        ("eth0", ipaddress.ip_interface("192.0.2.11/24")),
        ("eth0", ipaddress.ip_interface("2001:db8:f1::11/64")),
        ("eth1", ipaddress.ip_interface("198.51.100.11/24")),
    ]


def test_malformed_entries_are_skipped() -> None:
    text = "junk;=192.0.2.9/24;eth0=;eth0=nonsense,192.0.2.12/24,, ;;eth2=300.1.1.1/24"
    assert list(leases.interfaces(text)) == [("eth0", ipaddress.ip_interface("192.0.2.12/24"))]
    assert list(leases.interfaces("")) == []

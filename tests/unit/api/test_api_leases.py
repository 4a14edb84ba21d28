"""The agent Lease's contract, encoded and decoded once for every side (floatip.api.leases).

Proves: the interfaces annotation comes back in order with its interface names, both
families, and entries with no name, no address or a malformed address are skipped, never
raised; what the agent encodes (interfaces, MACs, restart mark) decodes to the same values;
agent Lease names map to nodes and back; renewal time and duration are read, malformed
durations are not.
"""

from __future__ import annotations

import datetime
import ipaddress

from floatip.api import leases, names


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


def test_interfaces_round_trip_through_the_codec() -> None:
    """What the agent encodes is exactly what the operator and the peers decode."""
    by_link = {
        "eth1": [ipaddress.ip_interface("198.51.100.11/24")],
        "eth0": [ipaddress.ip_interface("192.0.2.11/24"), ipaddress.ip_interface("2001:db8::1/64")],
        "lo": [],
    }
    text = leases.encode_interfaces(by_link)
    assert text == "eth0=192.0.2.11/24,2001:db8::1/64;eth1=198.51.100.11/24"
    assert list(leases.interfaces(text)) == [
        (name, address) for name in ("eth0", "eth1") for address in by_link[name]
    ]


def test_macs_round_trip_and_loopback_left_out() -> None:
    text = leases.encode_macs({"eth0": "02:F1:00:00:00:01", "lo": "00:00:00:00:00:00", "x": ""})
    assert text == "eth0=02:f1:00:00:00:01"
    assert leases.macs(text + ";bad;eth9=zz") == {"02:f1:00:00:00:01"}


def test_names_endpoint_and_restart_mark() -> None:
    lease = {
        "metadata": {
            "name": leases.name_for("server1"),
            "annotations": {
                names.ENDPOINT_ANNOTATION: "http://1.2.3.4:9720/",
                **leases.restart_mark(datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)),
            },
        },
        "spec": {"renewTime": "2026-01-01T11:59:00.000000Z", "leaseDurationSeconds": 45},
    }
    assert leases.node_of(lease) == "server1"
    assert leases.node_of({"metadata": {"name": "floatip-operator"}}) is None
    assert leases.endpoint(lease) == "http://1.2.3.4:9720"
    assert leases.restarting_until(lease) == datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)
    assert leases.renewal(lease) == (
        datetime.datetime(2026, 1, 1, 11, 59, tzinfo=datetime.UTC),
        45.0,
    )
    assert leases.renewal({"spec": {"leaseDurationSeconds": True}}) == (None, None)
    assert dict(leases.agents([lease, {"metadata": {"name": "other"}}])) == {"server1": lease}

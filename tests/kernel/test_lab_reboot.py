"""The lab's power cycle wipes what a real one would: floatip's addresses, neighbours; restores IPv6.

Proves: inside a host, `python -m floatip_lab.reboot` removes an address marked IFA_PROTO 99
(as the agent marks its VIPs) and one marked 98 (the control-plane agent's), keeps an
unmarked one, and re-adds the host's own IPv6 address
that a link-down flushed.
"""

from __future__ import annotations

import sys

import pytest

from floatip_lab import naming

from .conftest import LanFactory

ADD_MARKED = (
    "from pyroute2 import IPRoute\n"
    "ipr = IPRoute(); [i] = ipr.link_lookup(ifname='eth0')\n"
    "ipr.addr('add', index=i, address='192.0.2.200', prefixlen=32, proto=99)\n"
    "ipr.addr('add', index=i, address='192.0.2.201', prefixlen=32)\n"
    "ipr.addr('add', index=i, address='192.0.2.202', prefixlen=32, proto=98)\n"
)


@pytest.mark.kernel
def test_power_cycle_wipes_floatip_addresses_and_restores_ipv6(lan: LanFactory) -> None:
    topo = lan("server1", ipv6=True)
    host = topo["server1"]
    host.run([sys.executable, "-c", ADD_MARKED])
    host.set_link(False)
    host.set_link(True)
    before = {str(a.interface.ip) for a in host.addresses("eth0")}
    assert str(host.ip6) not in before  # Linux dropped it with the link
    own = [str(naming.data_ipv4(1)), str(naming.data_ipv6(1))]
    host.run([sys.executable, "-m", "floatip_lab.reboot", *(x for o in own for x in ("--own", o))])
    after = {str(a.interface.ip) for a in host.addresses("eth0")}
    assert not {"192.0.2.200", "192.0.2.202"} & after
    assert {"192.0.2.201", str(host.ip), str(host.ip6)} <= after

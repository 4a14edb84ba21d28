"""What a power cycle wipes, applied to a lab node that keeps its namespace across kill-node.

A real node that lost power comes back with empty RAM: no addresses but those its boot
configuration adds, empty neighbour tables, no TCP state. The lab's node keeps its namespace,
so without this it would come back still holding the VIP floatip gave it, answer ARP for it
and even send ARP requests from it (a TCP socket that outlived the "power loss" retransmits),
which moves clients back to a node that is no longer the holder. Run inside the node's
namespace: ``python -m floatip_lab.reboot`` removes every address floatip's agent added
(IFA_PROTO 99) or its control-plane agent added (IFA_PROTO 98), flushes the neighbour table,
and re-adds the node's own configured addresses that Linux dropped with the links (IPv6
addresses go away on link down).
"""

from __future__ import annotations

import argparse
import ipaddress
import subprocess
import sys
from collections.abc import Sequence

from pyroute2 import IPRoute

from floatip.api import names

WIPED = frozenset({names.ADDRESS_PROTO, names.CONTROL_PLANE_ADDRESS_PROTO})


def wipe(*, own: Sequence[str], ifname: str) -> int:
    """Remove the agent's addresses, flush neighbours, restore ``own`` on ``ifname``."""
    removed = 0
    with IPRoute() as ipr:
        for address in ipr.get_addr():
            if address.get("proto") in WIPED:
                ipr.addr(
                    "del",
                    index=address["index"],
                    address=address.get_attr("IFA_ADDRESS"),
                    prefixlen=address["prefixlen"],
                )
                removed += 1
        [index] = ipr.link_lookup(ifname=ifname)
        present = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index)}
        for text in own:
            interface = ipaddress.ip_interface(text)
            if str(interface.ip) not in present:
                flags = 0x02 if interface.version == 6 else 0  # IFA_F_NODAD: as the lab built it
                ipr.addr(
                    "add",
                    index=index,
                    address=str(interface.ip),
                    prefixlen=interface.network.prefixlen,
                    flags=flags,
                )
    subprocess.run(["ip", "neigh", "flush", "all"], check=True)
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.reboot")
    parser.add_argument("--ifname", default="eth0")
    parser.add_argument("--own", action="append", default=[], help="ADDRESS/PREFIX to keep")
    args = parser.parse_args(argv)
    removed = wipe(own=args.own, ifname=args.ifname)
    print(f"power cycle: removed {removed} floatip address(es), flushed neighbours")
    return 0


if __name__ == "__main__":
    sys.exit(main())

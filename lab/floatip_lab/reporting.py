"""What `floatip lab status` reports, as one JSON-ready dict other tools read.

The keys ``kubeconfig``, ``subnet``, ``free_addresses`` and ``hosts`` (each host with
``netns``, ``ip``, ``mac`` and ``role``) are an interface: tests and benchmarks read them.
The rest (``api``, ``processes``, ``faults``, ...) is for people and may grow.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from floatip_lab import floatipd, naming, processes, state

FREE_COUNT = 10
DATA_ROLES = ("node", "client", "intruder", "cp")


def free_addresses(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """The first addresses of the range the address plan leaves free for VIPs (.100 up)."""
    if network.version == 4:
        first = network.network_address + 100
        return [str(first + i) for i in range(FREE_COUNT)]
    return [f"{network.network_address}{100 + i}" for i in range(FREE_COUNT)]


def build_status(place: state.Place, lab: state.LabState) -> dict[str, Any]:
    """The status object of a lab (processes checked live)."""
    hosts = {
        h.name: {
            "netns": h.netns,
            "ip": h.ip,
            "mac": h.mac,
            "role": h.role,
            "ip6": h.ip6,
            "mgmt_ip": h.mgmt_ip,
        }
        for h in lab.hosts.values()
        if h.role in DATA_ROLES
    }
    api = lab.hosts.get("api")
    status: dict[str, Any] = {
        "kubeconfig": str(place.kubeconfig),
        "subnet": lab.data_network,
        "free_addresses": free_addresses(lab.data_v4()),
        "hosts": hosts,
        "phase": lab.phase,
        "tag": lab.tag,
        "state_dir": str(place.directory),
        "mgmt_subnet": str(naming.MGMT_V4),
        "api": {
            "url": lab.api_url,
            "local_url": f"https://127.0.0.1:{lab.relay_port}" if lab.relay_port else None,
            "netns": api.netns if api else None,
            "ip": api.mgmt_ip if api else None,
            "lab_kubeconfig": str(place.lab_kubeconfig),
        },
        "operators": {
            h.name: {"netns": h.netns, "ip": h.mgmt_ip}
            for h in lab.hosts.values()
            if h.role == "operator"
        },
        "floatip_installed": {
            "agent": floatipd.installed(floatipd.AGENT_MODULE),
            "operator": floatipd.installed(floatipd.OPERATOR_MODULE),
        },
        "processes": {
            name: {"pid": p.pid, "host": p.host, "alive": processes.alive(p), "log": p.log}
            for name, p in sorted(lab.processes.items())
        },
        "faults": {
            "cut": lab.faults.cut,
            "frozen": lab.faults.frozen,
            "killed": lab.faults.killed,
            "dead": lab.faults.dead,
            "api_down": lab.faults.api_down,
            "stopped_pods": lab.faults.stopped_pods,
            "stopped_apiservers": lab.faults.stopped_apiservers,
        },
        "control_planes": [
            {"cluster_id": c.cluster_id, "vip": c.vip, "hosts": c.hosts} for c in lab.control_planes
        ],
    }
    if lab.ipv6:
        status["subnet6"] = str(naming.DATA_V6)
        status["free_addresses6"] = free_addresses(naming.DATA_V6)
    return status


def describe(status: dict[str, Any]) -> str:
    """A short human summary of `build_status`'s result."""
    lines = [
        f"lab {status['tag']} ({status['phase']}), state {status['state_dir']}",
        f"kubeconfig: {status['kubeconfig']}  (API {status['api']['url']})",
        f"data LAN {status['subnet']}, free for VIPs: "
        + ", ".join(status["free_addresses"][:5])
        + ", ...",
    ]
    for name, host in status["hosts"].items():
        lines.append(
            f"  {name:<10} {host['role']:<9} {host['ip']:<15} {host['mac']}  mgmt "
            f"{host['mgmt_ip'] or '-':<15} netns {host['netns']}"
        )
    for name, proc in status["processes"].items():
        lines.append(
            f"  process {name:<14} pid {proc['pid']:<8} {'alive' if proc['alive'] else 'DEAD '}"
            f"  log {proc['log']}"
        )
    for cluster in status["control_planes"]:
        lines.append(
            f"control plane {cluster['cluster_id']}: VIP {cluster['vip']} (https://"
            f"{cluster['vip'].partition('/')[0]}:6443/readyz) on {', '.join(cluster['hosts'])}"
        )
    faults = {k: v for k, v in status["faults"].items() if v}
    lines.append(f"faults in force: {faults or 'none'}")
    return "\n".join(lines)

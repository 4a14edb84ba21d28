"""``floatip bench control-plane --baseline keepalived-haproxy``: kubeadm's documented setup.

After floatip's figures, the same lab's cluster ``lab-a`` drops floatip-control-plane-agent
(killed, its VIP removed) and runs keepalived + haproxy as kubeadm's "High Availability
Considerations" configures them (`floatip_lab.kubeadmha`); the client asks
``https://VIP:8443/readyz`` (haproxy's port) every 10 ms. For each fault on the VRRP master
(the host carrying the VIP) a run's figure is the time from the fault to the end of the first
request started after it that was answered at all (haproxy hides which apiserver answered),
and the requests that failed from the fault to 3 s after that answer are counted: with
haproxy in front, one apiserver down is mostly its retries' business, not the VIP's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from floatip_lab import commands, cpclient, cpnodes, cpscenarios, kubeadmha, state, timeline

Say = Callable[[str], None]
SETTINGS = (
    "kubeadm docs/ha-considerations.md: keepalived check_apiserver.sh every 3 s, weight -2, "
    "fall 10, rise 2, advert_int 1 (default), priorities 101/100; haproxy TCP :8443 round "
    "robin over the 3 apiservers, redispatch, retries 1, default server checks (httpchk GET "
    "/healthz over TLS: the document's ssl-hello-chk fails on the lab's Python TLS server)"
)


def switch(cp: cpscenarios.ControlPlaneLab, cluster: state.ControlPlane, say: Say) -> None:
    """Cluster `cluster` from floatip-control-plane-agent to keepalived + haproxy."""
    lab = cp.lab
    for host in cluster.hosts:
        cpnodes.crash(lab, cpnodes.agent_name(host))
        lab.processes.pop(cpnodes.agent_name(host), None)  # a power-on must not start it
        record = lab.host(host)
        commands.run(
            ["ip", "netns", "exec", record.netns, sys.executable, "-m", "floatip_lab.reboot",
             "--own", f"{record.ip}/{lab.data_v4().prefixlen}"],
        )  # fmt: skip
    kubeadmha.start(cp.place, lab, cluster)
    state.save(cp.place, lab)
    say(f"baseline: keepalived + haproxy on {', '.join(cluster.hosts)} ({SETTINGS})")


def _settle(cp: cpscenarios.ControlPlaneLab, cluster: state.ControlPlane) -> str:
    """Until one host carries the VIP and the client is answered through haproxy."""
    holder = cpnodes.wait_one_holder(cp.lab, cluster, timeout=60)
    with cpclient.recording(cp.place, cp.lab, cluster, port=kubeadmha.DEST_PORT) as client:
        client.wait_ok(time.time(), timeout=60)
    return holder


def one_run(
    cp: cpscenarios.ControlPlaneLab, cluster: state.ControlPlane, fault: str
) -> tuple[float, int]:
    """(seconds from the fault to the first answer, failed requests) for one fault."""
    holder = _settle(cp, cluster)
    with cpclient.recording(cp.place, cp.lab, cluster, port=kubeadmha.DEST_PORT) as client:
        client.wait_ok(time.time(), timeout=30)
        time.sleep(0.3)
        at = cp.fault(fault, holder)
        answer = client.wait_ok(at, timeout=60)
        time.sleep(3.0)
        probes = client.probes()
    cp.fault("heal")
    failed = sum(1 for p in probes if at <= p.start <= answer.end + 3.0 and not p.ok)
    return answer.end - at, failed


def measure(
    cp: cpscenarios.ControlPlaneLab, cluster: state.ControlPlane, runs: int, say: Say
) -> dict[str, Any]:
    switch(cp, cluster, say)
    result: dict[str, Any] = {"settings": SETTINGS}
    for key, fault in (("apiserver_down", "stop-apiserver"), ("kill_node", "kill-node")):
        times, failed = [], 0
        for index in range(1, runs + 1):
            seconds, lost = one_run(cp, cluster, fault)
            times.append(seconds)
            failed += lost
            say(f"baseline {fault} run {index}/{runs}: {1000 * seconds:.0f} ms, {lost} failed")
        result[key] = {
            "p50_ms": round(1000 * timeline.percentile(times, 0.5), 1),
            "p99_ms": round(1000 * timeline.percentile(times, 0.99), 1),
            "failed_requests": failed,
        }
    return result

"""The lab's stand-ins for Kubernetes' own parts that Services need, started by `floatip lab up`.

A Service of type LoadBalancer works through three parts floatip does not provide: kubelets
reporting the Pods, the EndpointSlice controller listing their endpoints, and kube-proxy on
each node sending the Service's traffic to them. The lab has none of them, so it plays each,
named as a lab part wherever it shows:

- the kubelet: a web Pod per server whose endpoint is that server's nginx (`floatip_lab.webpods`);
- the endpoints controller: one process on the API server's host (`floatip_lab.endpoints`);
- kube-proxy: one process in each server's namespace (`floatip_lab.kubeproxy`).

They are lab processes like nginx (recorded in the state file, restarted with their node after
a `kill-node`, gone with the namespaces at `floatip lab down`), logging to
``<state dir>/logs/<name>.log``; `start` returns once each has done its first pass (its ready
file under ``<state dir>/standins/``). They run with the lab's admin kubeconfig, as
Kubernetes' own components have their own wide rights.
"""

from __future__ import annotations

import functools
import pathlib
import sys
from collections.abc import Callable

from floatip_lab import commands, kubeapi, processes, state, waiting, webpods

Say = Callable[[str], None]
ENDPOINTS = "endpoints-controller"
READY_DIR = "standins"  # the ready files; lifecycle.STATE_ENTRIES removes it


def kube_proxy_name(node: str) -> str:
    return f"kube-proxy-{node}"


def start(place: state.Place, lab: state.LabState, client: kubeapi.Client, say: Say) -> None:
    """Create the web Pods, start the endpoints controller and a kube-proxy per server."""
    nodes = lab.nodes_names()
    say(f"the lab plays the kubelet: web Pods {', '.join(map(webpods.pod_name, nodes))} (app=web)")
    for node in nodes:
        host = lab.host(node)
        ips = [str(host.ip)] + ([host.ip6] if host.ip6 else [])
        webpods.create(client, node, pod_ips=ips, host_ip=str(host.mgmt_ip))
    kubeconfig = str(place.lab_kubeconfig)
    started = [
        _spawn(place, lab, ENDPOINTS, "api", "floatip_lab.endpoints", "--kubeconfig", kubeconfig)
    ]
    say("the lab plays the endpoints controller (endpoints-controller on host api)")
    for node in nodes:
        started.append(
            _spawn(place, lab, kube_proxy_name(node), node, "floatip_lab.kubeproxy",
                   "--node", node, "--kubeconfig", kubeconfig)
        )  # fmt: skip
    say(f"the lab plays kube-proxy on {', '.join(nodes)} (nftables table floatip_lab_kubeproxy)")
    state.save(place, lab)
    for record in started:
        waiting.wait_until(
            functools.partial(_ready, place, record),
            what=f"lab part {record.name} to do its first pass (log {record.log})",
            timeout=30,
            interval=0.05,
            describe=functools.partial(processes.log_tail, record),
        )


def ready_file(place: state.Place, name: str) -> pathlib.Path:
    return place.path(READY_DIR, f"{name}.ready")


def _spawn(
    place: state.Place, lab: state.LabState, name: str, host: str, module: str, *args: str
) -> state.ProcessRecord:
    record = processes.spawn(
        name=name,
        host=host,
        netns=lab.host(host).netns,
        argv=[sys.executable, "-m", module, *args, "--ready-file", str(ready_file(place, name))],
        log=place.path("logs", f"{name}.log"),
    )
    lab.processes[name] = record
    return record


def _ready(place: state.Place, record: state.ProcessRecord) -> bool:
    if ready_file(place, record.name).exists():
        return True
    if processes.exited(record.pid):
        raise commands.LabError(
            f"lab part {record.name} exited at start; its log {record.log} ends:\n"
            + processes.log_tail(record)
        )
    return False

"""floatip's own processes in the lab: an agent per node and two operator replicas.

`start_agents_and_operators` is the one place that starts them. Until the agent or the
operator has its entry point (``floatip_agent.main`` and ``__main__``, the same for
``floatip_operator``) it prints a
note and does not start it, so the lab's ground works on its own. Once they do, each server runs
``python -m floatip_agent --node serverN --kubeconfig K``, and hosts ``operator-1`` and
``operator-2`` (management network only, as two pods on two machines) each run
``python -m floatip_operator --kubeconfig K --id operator-K``. Each of the two starts as soon
as its entry point exists. Every process logs to ``<state dir>/logs/<name>.log``.
"""

from __future__ import annotations

import importlib.util
import pathlib
import signal
import sys
from collections.abc import Callable

from floatip_lab import commands, kubeapi, processes, rbac, state

AGENT_MODULE = "floatip_agent"
OPERATOR_MODULE = "floatip_operator"
REPLICAS = (1, 2)  # operator replicas, each on its own mgmt-only host named like it
OPERATOR_LEASE = "floatip-operator"
OPERATOR_METRICS_PORT = 9721  # the operator's --metrics-port default, which the lab keeps
NAMESPACE = "floatip"


def installed(package: str) -> bool:
    """Whether ``<package>.main`` and ``<package>.__main__`` (what `python -m` runs) exist."""
    try:
        return all(
            importlib.util.find_spec(f"{package}.{module}") is not None
            for module in ("main", "__main__")
        )
    except ImportError:
        return False


def agent_name(node: str) -> str:
    return f"agent-{node}"


def operator_name(replica: int) -> str:
    return f"operator-{replica}"


def start_agents_and_operators(
    place: state.Place, lab: state.LabState, say: Callable[[str], None]
) -> None:
    """Start every agent and operator replica (recording them in `lab`), or say why not.

    Each of the two starts as soon as its entry point exists, so either can be tried alone.
    """

    def start(name: str, host: str, module: str, kubeconfig: pathlib.Path, *args: str) -> None:
        lab.processes[name] = processes.spawn(
            name=name,
            host=host,
            netns=lab.host(host).netns,
            argv=[sys.executable, "-m", module, "--kubeconfig", str(kubeconfig),
                  "--profile", lab.profile, *args],
            log=place.path("logs", f"{name}.log"),
        )  # fmt: skip

    if installed(AGENT_MODULE):
        for node in lab.nodes_names():
            say(f"starting {agent_name(node)}")
            kubeconfig = place.agent_kubeconfig(node)  # its own node's token (agentpods)
            start(agent_name(node), node, AGENT_MODULE, kubeconfig, "--node", node, *lab.agent_args)
    if installed(OPERATOR_MODULE):
        for replica in REPLICAS:
            name = operator_name(replica)
            say(f"starting {name} (on host {name})")
            kubeconfig = place.account_kubeconfig(rbac.ACCOUNTS["operator"])
            start(name, name, OPERATOR_MODULE, kubeconfig, "--id", name)
    missing = [m for m in (AGENT_MODULE, OPERATOR_MODULE) if not installed(m)]
    if missing:
        say(
            "agent/operator not installed yet "
            f"({', '.join(f'{m}.main or {m}.__main__' for m in missing)} not importable): "
            "the lab runs without them"
        )


def agents(lab: state.LabState, node: str | None = None) -> list[state.ProcessRecord]:
    """The recorded agent processes (of `node` only, if given); LabError if there are none."""
    names = [node] if node else lab.nodes_names()
    found = [lab.processes[agent_name(n)] for n in names if agent_name(n) in lab.processes]
    if not found:
        raise commands.LabError(
            f"no floatip agent runs in this lab{' on ' + node if node else ''}: "
            f"{AGENT_MODULE}.main is {'' if installed(AGENT_MODULE) else 'not '}installed; "
            "a lab built before it was installed needs `floatip lab down && floatip lab up`"
        )
    return found


def operators(lab: state.LabState) -> list[state.ProcessRecord]:
    """The recorded operator replicas; LabError if there are none."""
    found = [p for n, p in sorted(lab.processes.items()) if n.startswith("operator-")]
    if not found:
        raise commands.LabError(
            "no floatip operator runs in this lab: "
            f"{OPERATOR_MODULE}.main is {'' if installed(OPERATOR_MODULE) else 'not '}"
            "installed; a lab built before it was installed needs "
            "`floatip lab down && floatip lab up`"
        )
    return found


def leader(place: state.Place, lab: state.LabState) -> state.ProcessRecord:
    """The operator replica named by the leader-election Lease's holderIdentity."""
    replicas = {p.name: p for p in operators(lab)}
    client = kubeapi.Client(place.kubeconfig)
    lease = client.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{OPERATOR_LEASE}"
    )
    holder = str(lease.get("spec", {}).get("holderIdentity") or "")
    if holder not in replicas:
        raise commands.LabError(
            f"Lease {NAMESPACE}/{OPERATOR_LEASE} names holder {holder!r}, which is none of the "
            f"lab's operator replicas {sorted(replicas)}; is leader election running?"
        )
    return replicas[holder]


def kill(record: state.ProcessRecord) -> None:
    """SIGKILL one floatip process (a crash, not a clean stop)."""
    processes.send(record, signal.SIGKILL)

"""Table columns of the built-in kinds, as kube-apiserver's ``pkg/printers/internalversion``.

``kubectl get`` prints whatever columns the server sends, so ``kubectl get svc`` shows
``NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE`` only if the server computes them. The server
prints "wide" (every column); kubectl hides priority-1 columns unless ``-o wide``. Cells are
computed like the real printers: EXTERNAL-IP ``<pending>`` for a LoadBalancer without an
ingress, a Pod's READY from its container statuses, an Event's OBJECT as ``kind/name``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from floatip_apiserver import tables
from floatip_apiserver.kinds import events

Obj = Mapping[str, Any]


def _column(name: str, priority: int = 0, kind: str = "string", fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


_NAME = {**_column("Name", fmt="name"), "description": "Name must be unique within a namespace."}
_AGE = _column("Age")


def _age(obj: Obj) -> str:
    return tables.human_age((obj.get("metadata") or {}).get("creationTimestamp"))


def _list(obj: Obj, *path: str) -> list[Any]:
    value: Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if isinstance(value, list) else []


def _more(items: Sequence[str], total: int, limit: int = 3, empty: str = "<unset>") -> str:
    """``listWithMoreString``: at most three, then ``+ N more...``."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


# ---- Events ------------------------------------------------------------------------------
def _event_cells(obj: Obj) -> list[Any]:
    shape = events.EVENTS if obj.get("apiVersion") == events.EVENTS else events.CORE
    event = events.decode(obj, shape)
    first = tables.human_age(event["firstTimestamp"] or event["eventTime"])
    last = tables.human_age(event["lastTimestamp"]) if event["lastTimestamp"] else first
    count = event["count"] or 1
    if event["series"] is not None:
        last = tables.human_age(event["series"]["lastObservedTime"])
        count = event["series"]["count"]
    ref = event["involvedObject"]
    target = ref.get("kind", "").lower()
    if ref.get("name"):
        target = f"{target}/{ref['name']}"
    component = event["source"].get("component") or event["reportingComponent"]
    host = event["source"].get("host") or event["reportingInstance"]
    source = f"{component}, {host}" if host else component
    name = (obj.get("metadata") or {}).get("name", "")
    return [
        last,
        event["type"],
        event["reason"],
        target,
        ref.get("fieldPath", ""),
        source,
        event["message"].strip(),
        first,
        count,
        name,
    ]


_EVENTS = tables.Printer(
    (
        _column("Last Seen"),
        _column("Type"),
        _column("Reason"),
        _column("Object"),
        _column("Subobject", 1),
        _column("Source", 1),
        _column("Message"),
        _column("First Seen", 1),
        _column("Count", 1),
        _column("Name", 1, fmt="name"),
    ),
    _event_cells,
)


# ---- Services ----------------------------------------------------------------------------
def _external_ip(spec: Obj, obj: Obj) -> str:
    kind = spec.get("type", "ClusterIP")
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    if kind == "LoadBalancer":
        found = {
            str(i.get("ip") or i.get("hostname"))
            for i in _list(obj, "status", "loadBalancer", "ingress")
            if isinstance(i, Mapping) and (i.get("ip") or i.get("hostname"))
        }
        return ",".join([*sorted(found), *external]) or "<pending>"
    return "<unknown>"


def _ports(spec: Obj) -> str:
    pieces = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(obj: Obj) -> list[Any]:
    spec = obj.get("spec") or {}
    ips = spec.get("clusterIPs") or []
    selector = spec.get("selector") or {}
    return [
        obj["metadata"]["name"],
        spec.get("type", ""),
        ips[0] if ips else "<none>",
        _external_ip(spec, obj),
        _ports(spec),
        _age(obj),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


_SERVICES = tables.Printer(
    (
        _NAME,
        _column("Type"),
        _column("Cluster-IP"),
        _column("External-IP"),
        _column("Port(s)"),
        _AGE,
        _column("Selector", 1),
    ),
    _service_cells,
)


# ---- Pods --------------------------------------------------------------------------------
def _pod_cells(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    restarts = ready = 0
    for container in reversed(_list(obj, "status", "containerStatuses")):
        restarts += int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            signal = terminated.get("signal")
            reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
        elif container.get("ready") and state.get("running") is not None:
            ready += 1
    if obj["metadata"].get("deletionTimestamp") and status.get("phase") not in (
        "Succeeded",
        "Failed",
    ):
        reason = "Terminating"
    ips = _list(obj, "status", "podIPs")
    gates = spec.get("readinessGates") or []
    return [
        obj["metadata"]["name"],
        f"{ready}/{len(spec.get('containers') or [])}",
        reason,
        restarts,
        _age(obj),
        (ips[0].get("ip") if ips else status.get("podIP")) or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"0/{len(gates)}" if gates else "<none>",
    ]


_PODS = tables.Printer(
    (
        _NAME,
        _column("Ready"),
        _column("Status"),
        _column("Restarts"),
        _AGE,
        _column("IP", 1),
        _column("Node", 1),
        _column("Nominated Node", 1),
        _column("Readiness Gates", 1),
    ),
    _pod_cells,
)


# ---- EndpointSlices and Endpoints ---------------------------------------------------------
def _slice_cells(obj: Obj) -> list[Any]:
    ports = [
        str(p.get("port") if p.get("port") is not None else (p.get("name") or "*"))
        for p in _list(obj, "ports")
    ]
    addresses = [str(a) for e in _list(obj, "endpoints") for a in e.get("addresses") or []]
    return [
        obj["metadata"]["name"],
        obj.get("addressType", ""),
        _more(ports, len(ports)),
        _more(addresses, len(addresses)),
        _age(obj),
    ]


def _endpoints_cells(obj: Obj) -> list[Any]:
    pairs = []
    for subset in _list(obj, "subsets"):
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            for port in ports:
                ip = address.get("ip", "")
                pairs.append(f"{ip}:{port}" if port is not None else ip)
    return [obj["metadata"]["name"], _more(pairs, len(pairs), empty="<none>"), _age(obj)]


_SLICES = tables.Printer(
    (_NAME, _column("AddressType"), _column("Ports"), _column("Endpoints"), _AGE),
    _slice_cells,
)
_ENDPOINTS = tables.Printer((_NAME, _column("Endpoints"), _AGE), _endpoints_cells)


# ---- ConfigMaps, Secrets, ServiceAccounts --------------------------------------------------
def _data_count(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _simple(*columns: tuple[str, Callable[[Obj], Any]]) -> tables.Printer:
    return tables.Printer(
        (_NAME, *(_column(name) for name, _ in columns), _AGE),
        lambda obj: [obj["metadata"]["name"], *(cell(obj) for _, cell in columns), _age(obj)],
    )


# ---- Namespaces, Nodes, Leases -------------------------------------------------------------
def _node_status(obj: Obj) -> str:
    """``printNode``: Ready, NotReady or Unknown, then SchedulingDisabled when cordoned."""
    ready = [c for c in _list(obj, "status", "conditions") if c.get("type") == "Ready"]
    state = "Unknown" if not ready else "Ready" if ready[0].get("status") == "True" else "NotReady"
    if (obj.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    return state


def _node_roles(obj: Obj) -> str:
    """Roles from ``node-role.kubernetes.io/ROLE`` labels and ``kubernetes.io/role``."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    roles = {
        k.removeprefix("node-role.kubernetes.io/")
        for k in labels
        if k.startswith("node-role.kubernetes.io/")
    }
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(r for r in roles if r)) or "<none>"


def _node_cells(obj: Obj) -> list[Any]:
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    internal = [
        a.get("address", "")
        for a in _list(obj, "status", "addresses")
        if a.get("type") == "InternalIP"
    ]
    external = [
        a.get("address", "")
        for a in _list(obj, "status", "addresses")
        if a.get("type") == "ExternalIP"
    ]
    return [
        obj["metadata"]["name"],
        _node_status(obj),
        _node_roles(obj),
        _age(obj),
        info.get("kubeletVersion", ""),
        internal[0] if internal else "<none>",
        external[0] if external else "<none>",
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


_NODES = tables.Printer(
    (
        _NAME,
        _column("Status"),
        _column("Roles"),
        _AGE,
        _column("Version"),
        _column("Internal-IP", priority=1),
        _column("External-IP", priority=1),
        _column("OS-Image", priority=1),
        _column("Kernel-Version", priority=1),
        _column("Container-Runtime", priority=1),
    ),
    _node_cells,
)


# ---- ValidatingAdmissionPolicies and their Bindings ----------------------------------------
def _param_kind(obj: Obj) -> str:
    kind = (obj.get("spec") or {}).get("paramKind")
    return f"{kind.get('apiVersion')}/{kind.get('kind')}" if kind else "<unset>"


def _param_ref(obj: Obj) -> str:
    """``printValidatingAdmissionPolicyBinding``: NS/NAME, ``*/NAME`` or the selector."""
    ref = (obj.get("spec") or {}).get("paramRef")
    if not ref:
        return "<unset>"
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    labels = (ref.get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


PRINTERS: dict[tuple[str, str], tables.Printer] = {
    ("", "namespaces"): _simple(("Status", lambda o: (o.get("status") or {}).get("phase", ""))),
    ("", "nodes"): _NODES,
    ("coordination.k8s.io", "leases"): _simple(
        ("Holder", lambda o: (o.get("spec") or {}).get("holderIdentity") or "")
    ),
    ("", "events"): _EVENTS,
    ("events.k8s.io", "events"): _EVENTS,
    ("", "services"): _SERVICES,
    ("", "pods"): _PODS,
    ("discovery.k8s.io", "endpointslices"): _SLICES,
    ("", "endpoints"): _ENDPOINTS,
    ("", "configmaps"): _simple(("Data", _data_count)),
    ("", "secrets"): _simple(("Type", lambda o: o.get("type", "")), ("Data", _data_count)),
    ("", "serviceaccounts"): _simple(("Secrets", lambda o: len(o.get("secrets") or []))),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): _simple(
        ("Validations", lambda o: len((o.get("spec") or {}).get("validations") or [])),
        ("ParamKind", _param_kind),
    ),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): _simple(
        ("PolicyName", lambda o: (o.get("spec") or {}).get("policyName", "")),
        ("ParamRef", _param_ref),
    ),
}

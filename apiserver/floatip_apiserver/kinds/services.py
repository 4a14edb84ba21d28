"""Services: defaults, cluster IP and node port allocation, and the update rules of the real server.

A LoadBalancer controller (and ``kubectl get svc``) reads what kube-apiserver fills in: the
defaults of ``SetDefaults_Service`` (type ClusterIP, sessionAffinity None, protocol TCP,
targetPort = port, the traffic policies, allocateLoadBalancerNodePorts), the IP families and
family policy (SingleStack unless asked), clusterIP/clusterIPs from the service CIDRs
(10.96.0.0/12 and fd00:10:96::/112, IPv4 first) and nodePorts from 30000-32767, each given
to one Service only. On update the server keeps allocated values a client left out, drops the
fields a type change makes meaningless, and refuses to change the primary cluster IP. A
``/status`` write carries the load balancer's ingress points (``ipMode`` defaults to VIP).
The order is the real registry's: defaults, allocation, then validation.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from floatip_apiserver import status
from floatip_apiserver.kinds import allocators, checks, servicechecks
from floatip_apiserver.kinds.allocators import FullError, Owner
from floatip_apiserver.kinds.base import Admission, Kind
from floatip_apiserver.kinds.checks import Errors
from floatip_apiserver.store import Store

SERVICE_CIDRS = ("10.96.0.0/12", "fd00:10:96::/112")  # the primary family first
NODE_PORT_RANGE = (30000, 32767)
_KEY = ("", "services")
_OTHER = {"IPv4": "IPv6", "IPv6": "IPv4"}


def _defaults(spec: dict[str, Any], status_: Any) -> None:
    """``SetDefaults_Service``, applied to every decoded Service (status writes too)."""
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig") or {}
        if (config.get("clientIP") or {}).get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    for port in spec.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if servicechecks.externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] != "ExternalName":
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
        if isinstance(status_, dict):
            for point in (status_.get("loadBalancer") or {}).get("ingress") or []:
                if point.get("ip") and point.get("ipMode") is None:
                    point["ipMode"] = "VIP"


def _shape(spec: Any) -> str:
    """What the real decoder would refuse: a wrong JSON type where a list or map must be."""
    if not isinstance(spec, dict):
        return "spec must be an object"
    for field in ("ports", "clusterIPs", "ipFamilies", "externalIPs"):
        if not isinstance(spec.get(field) or [], list):
            return (
                f"json: cannot unmarshal into Go struct field ServiceSpec.spec.{field} of type list"
            )
    if not all(isinstance(p, dict) for p in spec.get("ports") or []):
        return "json: cannot unmarshal into Go struct field ServiceSpec.spec.ports of type object"
    if not isinstance(spec.get("selector") or {}, dict):
        return "json: cannot unmarshal into Go struct field ServiceSpec.spec.selector of type map"
    return ""


def needs_cluster_ip(spec: dict[str, Any]) -> bool:
    return spec.get("type") != "ExternalName"


def needs_node_ports(spec: dict[str, Any]) -> bool:
    kind = spec.get("type")
    return kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False
    )


def _node_ports(spec: dict[str, Any]) -> list[Any]:
    return [p.get("nodePort") for p in spec.get("ports") or []]


def _patch_allocated(new: dict[str, Any], old: dict[str, Any]) -> None:
    """``patchAllocatedValues``: an update that leaves allocated values out keeps them."""
    if needs_cluster_ip(old) and needs_cluster_ip(new):
        if not new.get("clusterIP") and old.get("clusterIP"):
            new["clusterIP"] = old["clusterIP"]
        if not new.get("clusterIPs") and old.get("clusterIPs"):
            new["clusterIPs"] = list(old["clusterIPs"])
    if needs_node_ports(old) and needs_node_ports(new):
        used = {p for p in _node_ports(old) if p} & {p for p in _node_ports(new) if p}
        by_name = {p.get("name", ""): p.get("nodePort") for p in old.get("ports") or []}
        for port in new.get("ports") or []:
            if not port.get("nodePort"):
                kept = by_name.get(port.get("name", ""))
                if kept and kept not in used:
                    port["nodePort"] = kept
    both_check_health = servicechecks.needs_health_check(old) and (
        servicechecks.needs_health_check(new)
    )
    if both_check_health and not new.get("healthCheckNodePort"):
        new["healthCheckNodePort"] = old.get("healthCheckNodePort")


def _normalize_cluster_ips(new: dict[str, Any], old: dict[str, Any] | None) -> None:
    """``normalizeClusterIPs``: keep the singular and plural fields in step."""
    ip, ips = new.get("clusterIP") or "", new.get("clusterIPs") or []
    if old is None:
        if ip and not ips:
            new["clusterIPs"] = [ip]
        return
    if old.get("clusterIPs") and not ips and old.get("clusterIP") == ip:
        new["clusterIPs"] = ips = list(old["clusterIPs"])
    if old.get("clusterIP") != ip:
        same = ips == old.get("clusterIPs")
        if old.get("clusterIP") and not ip and same:
            new.pop("clusterIPs", None)
        if ip and same:
            new["clusterIPs"] = [ip]


def _drop_type_dependent(new: dict[str, Any], old: dict[str, Any]) -> None:
    """``dropTypeDependentFields``: a type change clears what the new type has no use for.

    Only values the client left as they were are cleared; a changed one is the client's
    intent, and validation judges it.
    """

    def unchanged(field: str) -> bool:
        return new.get(field) == old.get(field)

    drop: list[str] = []
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        drop += ["clusterIP", "clusterIPs"] if unchanged("clusterIPs") else []
        drop += [f for f in ("ipFamilies", "ipFamilyPolicy") if unchanged(f)]
    lost_health_check = servicechecks.needs_health_check(old) and not (
        servicechecks.needs_health_check(new)
    )
    drop += (
        ["healthCheckNodePort"] if lost_health_check and unchanged("healthCheckNodePort") else []
    )
    if old.get("type") == "LoadBalancer" and new.get("type") != "LoadBalancer":
        drop += [f for f in ("allocateLoadBalancerNodePorts", "loadBalancerClass") if unchanged(f)]
    if not servicechecks.externally_accessible(new) and unchanged("externalTrafficPolicy"):
        drop.append("externalTrafficPolicy")
    if new.get("type") == "ExternalName" and unchanged("internalTrafficPolicy"):
        drop.append("internalTrafficPolicy")
    for field in drop:
        new.pop(field, None)
    lost_node_ports = needs_node_ports(old) and not needs_node_ports(new)
    if lost_node_ports and _node_ports(new) == _node_ports(old):
        for port in new.get("ports") or []:
            port.pop("nodePort", None)


def _families(spec: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    """``initIPFamilyFields``: settle ipFamilyPolicy and ipFamilies before allocation."""
    if spec.get("type") == "ExternalName":
        return []
    if servicechecks.headless(spec) and not spec.get("selector"):
        spec.setdefault("ipFamilyPolicy", "RequireDualStack")
    if spec.get("ipFamilyPolicy") is None:
        if old is not None and old.get("ipFamilyPolicy") is not None:
            spec["ipFamilyPolicy"] = old["ipFamilyPolicy"]
        elif len(spec.get("ipFamilies") or []) == 2 or len(spec.get("clusterIPs") or []) == 2:
            spec["ipFamilyPolicy"] = "RequireDualStack"
        else:
            spec["ipFamilyPolicy"] = "SingleStack"
    errors = servicechecks.cluster_ips(spec)
    if errors:
        return errors
    ips, families = list(spec.get("clusterIPs") or []), list(spec.get("ipFamilies") or [])
    if old is not None:
        if spec["ipFamilyPolicy"] == "SingleStack":
            if ips == old.get("clusterIPs") and len(ips) > 1:
                ips = ips[:1]
            if families == old.get("ipFamilies") and len(families) > 1:
                families = families[:1]
        else:
            for field, current, what in (
                ("clusterIPs", ips, "cluster IP"),
                ("ipFamilies", families, "IP family"),
            ):
                if current and len(current) < len(old.get(field) or []):
                    errors.append(
                        checks.invalid(
                            "spec.ipFamilyPolicy",
                            spec["ipFamilyPolicy"],
                            f"must be 'SingleStack' to release the secondary {what}",
                        )
                    )
    for i, ip in enumerate(ips):
        if ip == "None":
            break
        if i >= len(families):
            families.append(checks.family(ip))
    if not families:
        families = ["IPv4"]
    if spec["ipFamilyPolicy"] != "SingleStack" and len(families) == 1:
        families.append(_OTHER.get(families[0], "IPv6"))
    spec["ipFamilies"] = families
    if ips:
        spec["clusterIPs"] = ips
    return errors


class Services(Kind):
    """The Service strategy of one server, with its service CIDRs and node port range."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cidrs = {
            cidr.family: cidr
            for cidr in (allocators.ServiceCIDR(c, self._holds_ip) for c in SERVICE_CIDRS)
        }
        self.node_ports = allocators.NodePorts(*NODE_PORT_RANGE, holds=self._holds_port)

    def _stored_spec(self, owner: Owner) -> dict[str, Any]:
        stored = self.store.get(_KEY, *owner)
        return (stored or {}).get("spec") or {}

    def _holds_ip(self, owner: Owner, value: int) -> bool:
        ips = self._stored_spec(owner).get("clusterIPs") or []
        return any(ip != "None" and int(ipaddress.ip_address(ip)) == value for ip in ips)

    def _holds_port(self, owner: Owner, value: int) -> bool:
        spec = self._stored_spec(owner)
        return value in _node_ports(spec) or spec.get("healthCheckNodePort") == value

    def admit(self, adm: Admission) -> None:
        problem = _shape(adm.obj.get("spec"))
        if problem:
            raise checks.undecodable(adm.res, problem)
        spec, old = adm.spec, (adm.old_spec if adm.old is not None else None)
        _defaults(spec, adm.obj.get("status"))
        if adm.subresource == "status":
            checks.raise_invalid(adm.res, adm.obj, servicechecks.status(adm.obj))
            return
        if old is None:
            adm.obj["status"] = {"loadBalancer": {}}
        else:
            _patch_allocated(spec, old)
        _normalize_cluster_ips(spec, old)
        if old is not None:
            _drop_type_dependent(spec, old)
        checks.raise_invalid(adm.res, adm.obj, _families(spec, old))
        meta = adm.obj["metadata"]
        owner = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        errors = self._cluster_ips(spec, old or {}, owner)
        errors += self._ports(spec, old or {}, owner)
        checks.raise_invalid(adm.res, adm.obj, errors)
        errors = servicechecks.spec(adm.obj)
        if old is not None:
            errors = servicechecks.update(spec, old) + errors
        checks.raise_invalid(adm.res, adm.obj, errors)

    def _cluster_ips(self, spec: dict[str, Any], old: dict[str, Any], owner: Owner) -> Errors:
        if not needs_cluster_ip(spec) or servicechecks.headless(spec):
            return []
        ips = list(spec.get("clusterIPs") or [])
        held = (old.get("clusterIPs") or []) if needs_cluster_ip(old) else []
        errors: Errors = []
        for i, fam in enumerate(spec["ipFamilies"]):
            cidr = self.cidrs[fam]
            if i >= len(ips):
                try:
                    ips.append(cidr.allocate(owner))
                except FullError:
                    raise status.ApiError(
                        500,
                        "InternalError",
                        "Internal error occurred: failed to allocate a serviceIP: range is full",
                    ) from None
                continue
            ip = ips[i]
            if ip in held:
                continue
            value = int(ipaddress.ip_address(ip))
            if not cidr.contains(ip):
                problem = (
                    f"the provided IP ({ip}) is not in the valid range. The range of valid IPs "
                    f"is {cidr}"
                )
            elif not cidr.range.free_for(value, owner):
                problem = "provided IP is already allocated"
            else:
                cidr.range.reserve(value, owner)
                continue
            errors.append(
                checks.invalid("spec.clusterIPs", ips, f"failed to allocate IP {ip}: {problem}")
            )
        if not errors:
            spec["clusterIPs"], spec["clusterIP"] = ips, ips[0]
        return errors

    def _claim(self, value: Any, field: str, held: set[int], owner: Owner) -> Errors:
        """A requested node port: keep it if held, else reserve it if in range and free."""
        if value in held:
            return []
        ports = self.node_ports.range
        if isinstance(value, bool) or not isinstance(value, int) or value not in ports:
            problem = (
                "provided port is not in the valid range. The range of valid ports is "
                f"{self.node_ports}"
            )
        elif not ports.free_for(value, owner):
            problem = "provided port is already allocated"
        else:
            ports.reserve(value, owner)
            return []
        return [checks.invalid(field, value, problem)]

    def _next_port(self, owner: Owner, taken: set[int]) -> int:
        try:
            return self.node_ports.range.allocate(owner, taken)
        except FullError:
            raise status.ApiError(
                500,
                "InternalError",
                "Internal error occurred: failed to allocate a nodePort: range is full",
            ) from None

    def _ports(self, spec: dict[str, Any], old: dict[str, Any], owner: Owner) -> Errors:
        """``initNodePorts``: one node port per port number (TCP and UDP 53 share one)."""
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return []
        held = {p for p in [*_node_ports(old), old.get("healthCheckNodePort")] if p}
        by_number: dict[Any, int] = {}
        for i, port in enumerate(spec.get("ports") or []):
            requested = port.get("nodePort")
            if not requested and not needs_node_ports(spec):
                continue
            shared = by_number.get(port.get("port"))
            if requested and requested != shared:
                errors = self._claim(requested, f"spec.ports[{i}].nodePort", held, owner)
                if errors:
                    return errors
                by_number.setdefault(port.get("port"), requested)
            elif not requested:
                if shared is None:
                    shared = self._next_port(owner, set(by_number.values()) | held)
                    by_number[port.get("port")] = shared
                port["nodePort"] = shared
        if servicechecks.needs_health_check(spec):
            requested = spec.get("healthCheckNodePort")
            if requested:
                return self._claim(requested, "spec.healthCheckNodePort", held, owner)
            spec["healthCheckNodePort"] = self._next_port(owner, set(by_number.values()) | held)
        return []


def kubernetes_service(port: int) -> dict[str, Any]:
    """``default/kubernetes``: the Service kube-apiserver keeps for itself (10.96.0.1:443)."""
    return {
        "metadata": {
            "name": "kubernetes",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": "10.96.0.1",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
        },
    }

"""Service validation, as k8s.io/kubernetes ``pkg/apis/core/validation`` validates Services.

``spec`` checks a Service as created or updated (ports, type-dependent fields, traffic
policies, session affinity, the clusterIP/clusterIPs/ipFamilies relations); ``update`` adds
what may not change (the primary cluster IP and IP family, a set loadBalancerClass);
``status`` checks what a LoadBalancer controller writes through ``/status``. Messages and
field paths are the real server's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from floatip_apiserver.fielderrors import index
from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.checks import Errors

TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
FAMILIES = ("IPv4", "IPv6")
POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
KUBELET_PORT = 10250
_SVC_NAME = re.compile(r"^[-a-z0-9]+$")
_LETTER = re.compile(r"[a-z]")


def externally_accessible(spec: Mapping[str, Any]) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def needs_health_check(spec: Mapping[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def headless(spec: Mapping[str, Any]) -> bool:
    return spec.get("clusterIP") == "None"


def _port_name(value: str) -> list[str]:
    """``IsValidPortName`` (an IANA_SVC_NAME), for a string targetPort."""
    problems = ["must be no more than 15 characters"] if len(value) > 15 else []
    if not _SVC_NAME.match(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if not _LETTER.search(value):
        problems.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def _ports(spec: Mapping[str, Any]) -> Errors:
    errors: Errors = []
    ports = spec.get("ports") or []
    names: set[str] = set()
    seen_ports: set[tuple[Any, Any]] = set()
    seen_node_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        at = index("spec.ports", i)
        name = str(port.get("name") or "")
        if len(ports) > 1 and not name:
            errors.append(checks.required(f"{at}.name"))
        elif name:
            errors += checks.each(f"{at}.name", name, checks.dns1123_label(name))
            if name in names:
                errors.append(checks.duplicate(f"{at}.name", name))
            names.add(name)
        errors += checks.port(f"{at}.port", port.get("port"))
        protocol = port.get("protocol")
        if protocol not in PROTOCOLS:
            errors.append(checks.not_supported(f"{at}.protocol", protocol, PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, str):
            errors += checks.each(f"{at}.targetPort", target, _port_name(target))
        else:
            errors += checks.port(f"{at}.targetPort", target)
        if spec.get("type") == "LoadBalancer" and port.get("port") == KUBELET_PORT:
            errors.append(
                checks.invalid(
                    at,
                    KUBELET_PORT,
                    f"may not expose port {KUBELET_PORT} externally since it is used by kubelet",
                )
            )
        if port.get("nodePort"):
            if spec.get("type") == "ClusterIP":
                errors.append(
                    checks.forbidden(f"{at}.nodePort", "may not be used when `type` is 'ClusterIP'")
                )
            key = (protocol, port["nodePort"])
            if key in seen_node_ports:
                errors.append(checks.duplicate(f"{at}.nodePort", port["nodePort"]))
            seen_node_ports.add(key)
        if (protocol, port.get("port")) in seen_ports:
            errors.append(checks.duplicate(at, {"port": port.get("port"), "protocol": protocol}))
        seen_ports.add((protocol, port.get("port")))
    return errors


def _by_type(spec: Mapping[str, Any]) -> Errors:
    kind = spec.get("type")
    if kind not in TYPES:
        return [checks.not_supported("spec.type", kind, TYPES)]
    errors: Errors = []
    if kind in ("LoadBalancer", "NodePort") and headless(spec):
        errors.append(
            checks.invalid(
                "spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services"
            )
        )
    if kind == "ExternalName":
        for field in ("clusterIPs", "ipFamilies"):
            if spec.get(field):
                errors.append(
                    checks.forbidden(f"spec.{field}", "may not be set for ExternalName services")
                )
        if spec.get("ipFamilyPolicy") is not None:
            errors.append(
                checks.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
            )
        cname = str(spec.get("externalName") or "").removesuffix(".")
        if cname:
            errors += checks.each("spec.externalName", cname, checks.dns1123_subdomain(cname))
        else:
            errors.append(checks.required("spec.externalName"))
    elif not spec.get("ports") and not headless(spec):
        errors.append(checks.required("spec.ports"))
    if kind != "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not None:
            errors.append(
                checks.forbidden(
                    "spec.allocateLoadBalancerNodePorts",
                    "may only be used when `type` is 'LoadBalancer'",
                )
            )
        if spec.get("loadBalancerClass") is not None:
            errors.append(
                checks.forbidden(
                    "spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"
                )
            )
    return errors


def _traffic(spec: Mapping[str, Any]) -> Errors:
    errors: Errors = []
    policy = spec.get("externalTrafficPolicy")
    if not externally_accessible(spec):
        if policy:
            errors.append(
                checks.invalid(
                    "spec.externalTrafficPolicy",
                    policy,
                    "may only be set for externally-accessible services",
                )
            )
    elif not policy:
        errors.append(checks.required("spec.externalTrafficPolicy"))
    elif policy not in ("Cluster", "Local"):
        errors.append(
            checks.not_supported("spec.externalTrafficPolicy", policy, ("Cluster", "Local"))
        )
    hc = spec.get("healthCheckNodePort")
    if not needs_health_check(spec):
        if hc:
            errors.append(
                checks.invalid(
                    "spec.healthCheckNodePort",
                    hc,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                    "is 'Local'",
                )
            )
    else:
        errors += checks.port("spec.healthCheckNodePort", hc)
    internal = spec.get("internalTrafficPolicy")
    if spec.get("type") != "ExternalName" and internal not in ("Cluster", "Local"):
        errors.append(
            checks.not_supported("spec.internalTrafficPolicy", internal, ("Cluster", "Local"))
        )
    affinity = spec.get("sessionAffinity")
    if affinity not in ("ClientIP", "None"):
        errors.append(checks.not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errors.append(
            checks.forbidden(
                "spec.sessionAffinityConfig", "must not be set when session affinity is None"
            )
        )
    for i, ip in enumerate(spec.get("externalIPs") or []):
        if checks.parse_ip(ip) is None:
            errors.append(checks.invalid(index("spec.externalIPs", i), ip, checks.IP_MSG))
    return errors


def cluster_ips(spec: Mapping[str, Any]) -> Errors:
    """``ValidateServiceClusterIPsRelatedFields``: the relations allocation relies on."""
    errors: Errors = []
    ip, ips = spec.get("clusterIP") or "", list(spec.get("clusterIPs") or [])
    if ip:
        if not ips:
            errors.append(checks.required("spec.clusterIPs"))
        elif ips[0] != ip:
            errors.append(
                checks.invalid("spec.clusterIPs", ips, "first value must match `clusterIP`")
            )
    elif ips:
        errors.append(
            checks.invalid(
                "spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified"
            )
        )
    families = list(spec.get("ipFamilies") or [])
    for i, fam in enumerate(families):
        if fam not in FAMILIES:
            errors.append(checks.not_supported(index("spec.ipFamilies", i), fam, FAMILIES))
        if fam in families[:i]:
            errors.append(checks.duplicate(index("spec.ipFamilies", i), fam))
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in POLICIES:
        errors.append(checks.not_supported("spec.ipFamilyPolicy", policy, POLICIES))
    bad = False
    for i, value in enumerate(ips):
        if i == 0 and value == "None":
            if len(ips) > 1:
                bad = True
                errors.append(
                    checks.invalid(
                        "spec.clusterIPs", ips, "'None' must be the first and only value"
                    )
                )
            continue
        if checks.parse_ip(value) is None:
            bad = True
            errors.append(checks.invalid(index("spec.clusterIPs", i), value, checks.IP_MSG))
    if len(ips) > 2:
        errors.append(checks.invalid("spec.clusterIPs", ips, "may only hold up to 2 values"))
    if bad:
        return errors
    if len(ips) == 2 and checks.family(ips[0]) == checks.family(ips[1]):
        errors.append(
            checks.invalid(
                "spec.clusterIPs", ips, "may specify no more than one IP for each IP family"
            )
        )
    if not headless(spec):
        for i, (value, fam) in enumerate(zip(ips, families, strict=False)):
            if fam in FAMILIES and checks.family(value) != fam:
                errors.append(
                    checks.invalid(
                        index("spec.clusterIPs", i),
                        value,
                        f"expected an {fam} value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errors


def spec(obj: Mapping[str, Any]) -> Errors:
    """``ValidateService`` for a defaulted, allocated Service."""
    name = str(obj["metadata"].get("name") or "")
    errors = checks.each("metadata.name", name, checks.dns1035_label(name))
    service = obj.get("spec") or {}
    errors += _by_type(service)
    errors += _ports(service)
    errors += _traffic(service)
    return errors + cluster_ips(service)


def update(new: Mapping[str, Any], old: Mapping[str, Any]) -> Errors:
    """What a Service may not change: the primary cluster IP and family, its LB class."""
    errors: Errors = []
    if "ExternalName" not in (new.get("type"), old.get("type")):
        for field in ("clusterIPs", "ipFamilies"):
            values, before = list(new.get(field) or []), list(old.get(field) or [])
            for i in range(min(len(values), len(before))):
                if values[i] != before[i]:
                    errors.append(
                        checks.invalid(index(f"spec.{field}", i), values, "may not change once set")
                    )
    both_balanced = old.get("type") == new.get("type") == "LoadBalancer"
    if both_balanced and old.get("loadBalancerClass") != new.get("loadBalancerClass"):
        errors.append(
            checks.invalid(
                "spec.loadBalancerClass",
                new.get("loadBalancerClass"),
                "may not change once set",
            )
        )
    return errors


def status(obj: Mapping[str, Any]) -> Errors:
    """``ValidateServiceStatusUpdate``: load-balancer ingress points and conditions."""
    spec_, status_ = obj.get("spec") or {}, obj.get("status") or {}
    path = "status.loadBalancer.ingress"
    ingress = (status_.get("loadBalancer") or {}).get("ingress") or []
    errors: Errors = []
    if ingress and spec_.get("type") != "LoadBalancer":
        errors.append(checks.forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"))
        ingress = []
    for i, point in enumerate(ingress):
        at = index(path, i)
        ip, mode, host = point.get("ip"), point.get("ipMode"), point.get("hostname")
        if ip and checks.parse_ip(ip) is None:
            errors.append(checks.invalid(f"{at}.ip", ip, checks.IP_MSG))
        if mode is None and ip:
            errors.append(checks.required(f"{at}.ipMode", "must be specified when `ip` is set"))
        elif mode is not None and not ip:
            errors.append(
                checks.forbidden(f"{at}.ipMode", "may not be specified when `ip` is not set")
            )
        elif mode is not None and mode not in ("Proxy", "VIP"):
            errors.append(checks.not_supported(f"{at}.ipMode", mode, ("Proxy", "VIP")))
        if host:
            errors += checks.each(f"{at}.hostname", host, checks.dns1123_subdomain(host))
            if checks.parse_ip(host) is not None:
                errors.append(
                    checks.invalid(f"{at}.hostname", host, "must be a DNS name, not an IP address")
                )
        for j, entry in enumerate(point.get("ports") or []):
            errors += checks.port(f"{at}.ports[{j}].port", entry.get("port"))
            if entry.get("protocol") not in PROTOCOLS:
                errors.append(
                    checks.not_supported(
                        f"{at}.ports[{j}].protocol", entry.get("protocol"), PROTOCOLS
                    )
                )
    return errors + checks.conditions("status.conditions", status_.get("conditions"))

"""EndpointSlices (discovery.k8s.io/v1) and core/v1 Endpoints, validated as the real server does.

A LoadBalancer controller finds a Service's backends through the EndpointSlices labelled
``kubernetes.io/service-name``; older tools read Endpoints. This server runs no endpoint
controllers: slices and Endpoints are what clients write, checked as kube-apiserver checks
them (address type and addresses of that type, no loopback or link-local endpoint IPs, port
names and protocols, the address type fixed once set) and defaulted (protocol TCP, a slice
port's name ""). Writes of Endpoints carry the deprecation Warning a 1.33+ server sends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from floatip_apiserver.fielderrors import TOO_MANY, FieldError, index
from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.base import Admission, Kind
from floatip_apiserver.kinds.checks import Errors

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
PROTOCOLS = ("SCTP", "TCP", "UDP")
DEPRECATED = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
_LIMITS = {"endpoints": 1000, "addresses": 100, "ports": 20000}


def _too_many(field: str, count: int, limit: int) -> FieldError:
    return FieldError(field, TOO_MANY, f"must have at most {limit} items", count)


def special_ip(field: str, text: str) -> Errors:
    """``ValidateNonSpecialIP``: endpoints may not be unspecified, loopback or link-local."""
    ip = ipaddress.ip_address(text)
    problems = []
    if ip.is_unspecified:
        problems.append(f"may not be unspecified ({text})")
    if ip.is_loopback:
        problems.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if ip.is_link_local and not ip.is_multicast:
        problems.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if ip in ipaddress.ip_network("224.0.0.0/24") or (ip.version == 6 and ip.is_multicast):
        problems.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return checks.each(field, text, problems)


def _address(field: str, value: Any, kind: str) -> Errors:
    if kind == "FQDN":
        text = str(value)
        return checks.each(field, text, checks.dns1123_subdomain(text))
    ip = checks.parse_ip(value)
    if ip is None or (kind == "IPv4") != (ip.version == 4):
        return [checks.invalid(field, value, f"must be a valid {kind} address")]
    return special_ip(field, str(value))


def _slice_ports(ports: list[Any]) -> Errors:
    if len(ports) > _LIMITS["ports"]:
        return [_too_many("ports", len(ports), _LIMITS["ports"])]
    errors: Errors = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        at = index("ports", i)
        name = str(port.get("name") or "")
        if name:
            errors += checks.each(f"{at}.name", name, checks.dns1123_label(name))
        if name in names:
            errors.append(checks.duplicate(f"{at}.name", name))
        names.add(name)
        if port.get("protocol") not in PROTOCOLS:
            errors.append(checks.not_supported(f"{at}.protocol", port.get("protocol"), PROTOCOLS))
        if port.get("port") is not None:
            errors += checks.port(f"{at}.port", port["port"])
    return errors


def _slice(obj: Mapping[str, Any]) -> Errors:
    name = str(obj["metadata"].get("name") or "")
    errors = checks.each("metadata.name", name, checks.dns1123_subdomain(name))
    kind = obj.get("addressType")
    if not kind:
        errors.append(checks.required("addressType"))
    elif kind not in ADDRESS_TYPES:
        errors.append(checks.not_supported("addressType", kind, ADDRESS_TYPES))
    endpoints = obj.get("endpoints") or []
    if len(endpoints) > _LIMITS["endpoints"]:
        return [*errors, _too_many("endpoints", len(endpoints), _LIMITS["endpoints"])]
    for i, endpoint in enumerate(endpoints):
        at = index("endpoints", i)
        addresses = endpoint.get("addresses") or []
        if not addresses:
            errors.append(checks.required(f"{at}.addresses", "must contain at least 1 address"))
        elif len(addresses) > _LIMITS["addresses"]:
            errors.append(_too_many(f"{at}.addresses", len(addresses), _LIMITS["addresses"]))
        if kind in ADDRESS_TYPES:
            for j, address in enumerate(addresses):
                errors += _address(index(f"{at}.addresses", j), address, str(kind))
        node = endpoint.get("nodeName")
        if node is not None:
            errors += checks.each(f"{at}.nodeName", node, checks.dns1123_subdomain(str(node)))
    return errors + _slice_ports(obj.get("ports") or [])


class EndpointSlices(Kind):
    """The EndpointSlice strategy."""

    def admit(self, adm: Admission) -> None:
        for port in adm.obj.get("ports") or []:
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")
        errors = _slice(adm.obj)
        if adm.old is not None:
            errors += checks.immutable(
                "addressType", adm.obj.get("addressType"), adm.old.get("addressType")
            )
        checks.raise_invalid(adm.res, adm.obj, errors)


def _subset(i: int, subset: Mapping[str, Any]) -> Errors:
    at = index("subsets", i)
    errors: Errors = []
    if not subset.get("addresses") and not subset.get("notReadyAddresses"):
        errors.append(checks.required(at, "must specify `addresses` or `notReadyAddresses`"))
    for field in ("addresses", "notReadyAddresses"):
        for j, address in enumerate(subset.get(field) or []):
            where = f"{index(f'{at}.{field}', j)}.ip"
            ip = address.get("ip")
            if checks.parse_ip(ip) is None:
                errors.append(checks.invalid(where, ip, checks.IP_MSG))
            else:
                errors += special_ip(where, str(ip))
    ports = subset.get("ports") or []
    for j, port in enumerate(ports):
        where = index(f"{at}.ports", j)
        name = str(port.get("name") or "")
        if len(ports) > 1 and not name:
            errors.append(checks.required(f"{where}.name"))
        elif name:
            errors += checks.each(f"{where}.name", name, checks.dns1123_label(name))
        errors += checks.port(f"{where}.port", port.get("port"))
        if port.get("protocol") not in PROTOCOLS:
            errors.append(
                checks.not_supported(f"{where}.protocol", port.get("protocol"), PROTOCOLS)
            )
    return errors


class Endpoints(Kind):
    """The (deprecated) core/v1 Endpoints strategy."""

    def admit(self, adm: Admission) -> None:
        adm.warnings.append(DEPRECATED)
        subsets = adm.obj.get("subsets") or []
        for subset in subsets:
            for port in subset.get("ports") or []:
                port.setdefault("protocol", "TCP")
        name = str(adm.obj["metadata"].get("name") or "")
        errors = checks.each("metadata.name", name, checks.dns1123_subdomain(name))
        for i, subset in enumerate(subsets):
            errors += _subset(i, subset)
        checks.raise_invalid(adm.res, adm.obj, errors)

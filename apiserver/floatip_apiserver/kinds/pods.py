"""Pods: the defaults, admission and update rules of the real server, and the status subresource.

kopf's own examples create Pods as children of their resources; ``kubectl describe node``
lists the Pods on a node by field selector; kubelets (or tests standing in for them) write
``/status``. As on a real cluster a new Pod gets ``SetDefaults_Pod``'s defaults, what the
default admission plugins add (``serviceAccountName: default``, priority 0, the not-ready and
unreachable tolerations for 300 s) and a fresh status (phase Pending and its QoS class);
almost nothing of its spec may change afterwards. There is no scheduler or kubelet: a Pod
stays Pending until someone writes its status, and deleting one removes it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floatip_apiserver.fielderrors import index
from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.base import Admission, Getter, Kind, getter
from floatip_apiserver.kinds.checks import Errors

_TOLERATIONS = [
    {
        "key": f"node.kubernetes.io/{key}",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    for key in ("not-ready", "unreachable")
]
_RESTART = ("Always", "Never", "OnFailure")
_DNS = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
_UPDATABLE = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _containers(spec: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"spec.{group}", c)
        for group in ("initContainers", "containers")
        for c in spec.get(group) or []
        if isinstance(c, dict)
    ]


def _pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged image, else ``IfNotPresent``."""
    if "@" in image:
        return "IfNotPresent"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _admission(spec: dict[str, Any]) -> None:
    """What the ServiceAccount, Priority and DefaultTolerationSeconds plugins add on create."""
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = account
    tolerations = spec.setdefault("tolerations", [])
    keys = {t.get("key") for t in tolerations if isinstance(t, dict)}
    tolerations += [dict(t) for t in _TOLERATIONS if t["key"] not in keys]


def _defaults(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec and SetDefaults_Container, applied to every write."""
    for field, value in (
        ("restartPolicy", "Always"),
        ("dnsPolicy", "ClusterFirst"),
        ("terminationGracePeriodSeconds", 30),
        ("schedulerName", "default-scheduler"),
        ("enableServiceLinks", True),
    ):
        spec.setdefault(field, value)
    spec.setdefault("securityContext", {})
    for _, container in _containers(spec):
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        if container.get("image"):
            container.setdefault("imagePullPolicy", _pull_policy(str(container["image"])))
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def qos_class(spec: Mapping[str, Any]) -> str:
    """``GetPodQOS``: BestEffort without requests or limits, Guaranteed when every container
    limits cpu and memory at what it requests, Burstable otherwise."""
    containers = [c for _, c in _containers(spec)]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


def _validate(obj: Mapping[str, Any]) -> Errors:
    name = str(obj["metadata"].get("name") or "")
    errors = checks.each("metadata.name", name, checks.dns1123_subdomain(name))
    spec = obj.get("spec") or {}
    if not spec.get("containers"):
        errors.append(checks.required("spec.containers"))
    seen: set[str] = set()
    positions: dict[str, int] = {}
    for group, container in _containers(spec):
        i = positions[group] = positions.get(group, -1) + 1
        at = index(group, i)
        cname = str(container.get("name") or "")
        if not cname:
            errors.append(checks.required(f"{at}.name"))
        else:
            errors += checks.each(f"{at}.name", cname, checks.dns1123_label(cname))
            if cname in seen:
                errors.append(checks.duplicate(f"{at}.name", cname))
            seen.add(cname)
        if not container.get("image"):
            errors.append(checks.required(f"{at}.image"))
        for j, port in enumerate(container.get("ports") or []):
            errors += checks.port(f"{at}.ports[{j}].containerPort", port.get("containerPort"))
            if port.get("protocol") not in ("SCTP", "TCP", "UDP"):
                errors.append(
                    checks.not_supported(
                        f"{at}.ports[{j}].protocol", port.get("protocol"), ("SCTP", "TCP", "UDP")
                    )
                )
    if spec.get("restartPolicy") not in _RESTART:
        errors.append(
            checks.not_supported("spec.restartPolicy", spec.get("restartPolicy"), _RESTART)
        )
    if spec.get("dnsPolicy") not in _DNS:
        errors.append(checks.not_supported("spec.dnsPolicy", spec.get("dnsPolicy"), _DNS))
    node = spec.get("nodeName")
    if node:
        errors += checks.each("spec.nodeName", node, checks.dns1123_subdomain(str(node)))
    return errors


def _masked(spec: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` with what a Pod update may change set back to ``old``'s values."""
    result = dict(spec)
    for group in ("containers", "initContainers"):
        before = old.get(group) or []
        now = [dict(c) for c in result.get(group) or []]
        for new_c, old_c in zip(now, before, strict=False):
            if new_c.get("image"):
                new_c["image"] = old_c.get("image")
        if group in result:
            result[group] = now
    result["activeDeadlineSeconds"] = old.get("activeDeadlineSeconds")
    result["terminationGracePeriodSeconds"] = old.get("terminationGracePeriodSeconds")
    tolerations = result.get("tolerations") or []
    if all(t in tolerations for t in old.get("tolerations") or []):
        result["tolerations"] = old.get("tolerations")
    return {k: v for k, v in result.items() if v is not None}


def _sync_ips(status: dict[str, Any]) -> None:
    """v1 conversion: podIP is authoritative over podIPs[0] (hostIP over hostIPs[0])."""
    for one, many in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
        single, plural = status.get(one), status.get(many) or []
        if single and (not plural or plural[0].get("ip") != single):
            status[many] = [{"ip": single}]
        elif plural and not single:
            status[one] = plural[0].get("ip")


def _status_errors(status: Mapping[str, Any]) -> Errors:
    errors: Errors = []
    for many in ("podIPs", "hostIPs"):
        seen: set[str] = set()
        for i, entry in enumerate(status.get(many) or []):
            ip = entry.get("ip") if isinstance(entry, Mapping) else entry
            if checks.parse_ip(ip) is None:
                errors.append(checks.invalid(f"status.{many}[{i}].ip", ip, checks.IP_MSG))
            elif ip in seen:
                errors.append(checks.duplicate(f"status.{many}[{i}].ip", ip))
            seen.add(str(ip))
    return errors


def _host_network(obj: Mapping[str, Any]) -> str:
    return "true" if (obj.get("spec") or {}).get("hostNetwork") else "false"


class Pods(Kind):
    """The Pod strategy."""

    fields: Mapping[str, Getter] = {
        "spec.nodeName": getter("spec", "nodeName"),
        "spec.restartPolicy": getter("spec", "restartPolicy"),
        "spec.schedulerName": getter("spec", "schedulerName"),
        "spec.serviceAccountName": getter("spec", "serviceAccountName"),
        "spec.hostNetwork": _host_network,
        "status.phase": getter("status", "phase"),
        "status.podIP": getter("status", "podIP"),
        "status.nominatedNodeName": getter("status", "nominatedNodeName"),
    }

    def admit(self, adm: Admission) -> None:
        if not isinstance(adm.obj.get("spec"), dict):
            raise checks.undecodable(adm.res, "spec must be an object")
        status = adm.obj.get("status")
        if adm.subresource == "status":
            if isinstance(status, dict):
                _sync_ips(status)
                checks.raise_invalid(adm.res, adm.obj, _status_errors(status))
            return
        spec = adm.spec
        _defaults(spec)
        if adm.old is None:
            _admission(spec)
            adm.obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
            checks.raise_invalid(adm.res, adm.obj, _validate(adm.obj))
            return
        errors = _validate(adm.obj)
        if _masked(spec, adm.old_spec) != _masked(adm.old_spec, adm.old_spec):
            errors.append(
                checks.forbidden(
                    "spec", f"pod updates may not change fields other than {_UPDATABLE}"
                )
            )
        checks.raise_invalid(adm.res, adm.obj, errors)

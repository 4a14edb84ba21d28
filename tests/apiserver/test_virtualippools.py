"""The test API server serves the VirtualIPPool CRD from crds/ and validates pools as the real one.

Proves, over real HTTPS and with the real kubectl: discovery lists ``virtualippools``
(cluster-scoped, short name ``vippool``, category ``floatip``, a status subresource) beside
``virtualips``; a good pool is created with the schema's defaults (autoAssign, the template's
announce); bad pools are refused with 422 Invalid, the field path and the CRD rule's message
(entry syntax, mixed families, special addresses, host bits, an exact duplicate, priority and
template bounds); the status subresource takes the counts and conditions; Table output has the
pool's printer columns; and ``kubectl apply``/``get vippool`` show the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver.runtime import RunningServer

from . import kubectl_cli

POOLS = "/apis/floatip.io/v1alpha1/virtualippools"


def pool(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIPPool",
        "metadata": {"name": name},
        "spec": {"addresses": list(addresses or ["192.0.2.0/28"]), **spec},
    }


async def test_discovery_lists_the_pool_resource(http: Any) -> None:
    _, group = await http.call("GET", "/apis/floatip.io/v1alpha1")
    by_name = {r["name"]: r for r in group["resources"]}
    assert by_name["virtualippools"]["kind"] == "VirtualIPPool"
    assert by_name["virtualippools"]["shortNames"] == ["vippool"]
    assert by_name["virtualippools"]["categories"] == ["floatip"]
    assert by_name["virtualippools"]["namespaced"] is False
    assert by_name["virtualippools/status"]["verbs"] == ["get", "patch", "update"]
    assert "virtualips" in by_name


async def test_a_good_pool_is_created_with_the_schemas_defaults(http: Any) -> None:
    body = pool("general", "192.0.2.0/28", "2001:db8::a-2001:db8::ff", priority=5)
    code, created = await http.call("POST", POOLS, body)
    assert code == 201, created
    assert created["spec"]["autoAssign"] is True
    assert created["spec"]["template"]["announce"]["burstCount"] == 3
    assert "preferredNodes" not in created["spec"]["template"]  # no default for a list
    code, got = await http.call("GET", f"{POOLS}/general")
    assert code == 200 and got["spec"]["addresses"] == body["spec"]["addresses"]


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"addresses": ["192.0.2.10"]}, "spec.addresses[0]", "must be a CIDR or a range"),
        ({"addresses": ["192.0.2.1-2001:db8::1"]}, "spec.addresses[0]", "of one family"),
        ({"addresses": ["224.0.0.0/24"]}, "spec.addresses[0]", "only unicast addresses"),
        ({"addresses": ["128.0.0.0/1"]}, "spec.addresses[0]", "only unicast addresses"),
        ({"addresses": ["192.0.2.5/28"]}, "spec.addresses[0]", "without host bits"),
        ({"addresses": ["192.0.2.0/28", "192.0.2.0/28"]}, "spec.addresses[1]", "Duplicate"),
        ({"addresses": []}, "spec.addresses", "at least 1"),
        ({"addresses": ["192.0.2.0/28"], "priority": -1}, "spec.priority", "0"),
        (
            {"addresses": ["192.0.2.0/28"], "template": {"interface": ".."}},
            "spec.template.interface",
            "'.' and '..' are not interface names",
        ),
        (
            {
                "addresses": ["192.0.2.0/28"],
                "template": {"healthCheck": {"type": "tcp", "port": 80, "path": "/"}},
            },
            "spec.template.healthCheck.path",
            "path applies to http health checks only",
        ),
    ],
)
async def test_bad_pools_are_refused_with_422_and_the_rules_message(
    http: Any, spec: dict[str, Any], field: str, message: str
) -> None:
    body = {**pool("bad"), "spec": spec}
    code, status = await http.call("POST", POOLS, body)
    assert (code, status["reason"]) == (422, "Invalid"), status
    assert status["message"].startswith('VirtualIPPool.floatip.io "bad" is invalid: ')
    assert field in {c["field"] for c in status["details"]["causes"]}, status
    assert message in status["message"], status["message"]


async def test_status_subresource_and_table_columns(http: Any) -> None:
    await http.call("POST", POOLS, pool("general", "192.0.2.0/28", "2001:db8::/120"))
    counts = {
        "ipv4": {"total": 14, "allocated": 2, "available": 12},
        "ipv6": {"total": 255, "allocated": 0, "available": 255},
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "message": "",
                "lastTransitionTime": "2024-01-01T00:00:00Z",
            }
        ],
    }
    code, patched = await http.call(
        "PATCH",
        f"{POOLS}/general/status",
        {"status": counts},
        content_type="application/merge-patch+json",
    )
    assert code == 200, patched
    code, status = await http.call(
        "PATCH",
        f"{POOLS}/general/status",
        {"status": {"ipv4": {"total": -1, "allocated": 0, "available": 0}}},
        content_type="application/merge-patch+json",
    )
    assert code == 422 and "status.ipv4.total" in status["message"]
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    _, table = await http.call("GET", POOLS, headers={"Accept": accept})
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Addresses",
        "IPv4 Available",
        "IPv6 Available",
        "Ready",
        "Age",
        "Auto Assign",
        "Priority",
        "Overlap",
    ]
    assert table["rows"][0]["cells"][:5] == [
        "general",
        '["192.0.2.0/28","2001:db8::/120"]',
        12,
        255,
        "True",
    ]


MANIFEST = """apiVersion: floatip.io/v1alpha1
kind: VirtualIPPool
metadata:
  name: {name}
spec:
  addresses: [{addresses}]
"""


@pytest.mark.kubectl
async def test_kubectl_applies_gets_and_is_told_why_a_pool_is_refused(
    apiserver: RunningServer,
) -> None:
    good = MANIFEST.format(name="general", addresses="192.0.2.0/28")
    code, out = await kubectl_cli.run(apiserver.kubeconfig, "apply", "-f", "-", stdin=good)
    assert code == 0 and "virtualippool.floatip.io/general created" in out, out
    bad = MANIFEST.format(name="bad", addresses="192.0.2.5/28")
    code, out = await kubectl_cli.run(apiserver.kubeconfig, "apply", "-f", "-", stdin=bad)
    assert code == 1, out
    assert "spec.addresses[0]: Invalid value" in out and "without host bits" in out, out
    code, out = await kubectl_cli.run(apiserver.kubeconfig, "get", "vippool")
    assert code == 0, out
    header, row = out.splitlines()[:2]
    assert header.split()[:6] == ["NAME", "ADDRESSES", "IPV4", "AVAILABLE", "IPV6", "AVAILABLE"]
    assert row.split()[:2] == ["general", '["192.0.2.0/28"]']
    code, out = await kubectl_cli.run(apiserver.kubeconfig, "get", "floatip")
    assert code == 0 and "virtualippool.floatip.io/general" in out, out

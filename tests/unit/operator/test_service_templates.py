"""A pool's edited template reaches its VirtualIPs (floatip_operator.servicerecords), no I/O.

Proves: a VirtualIP created from a pool's template needs no patch (compared as parsed, so the
API server's defaults for a template that leaves ``announce`` out are no difference); an
edited template gives a merge patch naming every template field, null for those it leaves
out, guarded by the VirtualIP's resourceVersion, never touching the address, the pin,
preempt or holdDownSeconds; the patched spec then needs nothing more; an invalid pool or
VirtualIP spec gives no patch; of a pool's VirtualIPs, only those behind its template whose
address is still in it and that are not being deleted are patched, and another pool's or a
standalone VirtualIP never.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from floatip.api import validation
from floatip_operator import holdings, servicerecords


def pool(template: dict[str, Any], name: str = "blue") -> holdings.PoolView:
    body = {"metadata": {"name": name},
            "spec": {"addresses": ["192.0.2.0/28"], "template": template}}  # fmt: skip
    return holdings.pool_view(body)


def stored(template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A VirtualIP created from ``template``, as the API server stores it (defaults applied)."""
    new = holdings.NewVip(
        "svc-default.web-v4", ipaddress.ip_address("192.0.2.3"), "blue", "default/web", template
    )
    body = servicerecords.vip_body(new)
    spec = validation.parse_spec({**body["spec"], **extra})
    body["spec"] = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    body["metadata"]["resourceVersion"] = "41"
    return body


def test_a_virtualip_made_from_the_template_needs_nothing() -> None:
    assert servicerecords.template_patch(stored({}), pool({})) is None
    template = {"preferredNodes": ["server1"], "announce": {"burstCount": 5}}
    assert servicerecords.template_patch(stored(template), pool(template)) is None


def test_an_edited_template_is_patched_in_whole_and_nothing_else() -> None:
    before = {"preferredNodes": ["server1"], "interface": "eth0"}
    after = {"preferredNodes": ["server2", "server1"],
             "healthCheck": {"type": "tcp", "port": 80}}  # fmt: skip
    body = stored(before, node="server3", preempt=True, holdDownSeconds=30)
    patch = servicerecords.template_patch(body, pool(after))
    assert patch is not None
    assert patch["metadata"] == {"resourceVersion": "41"}
    assert patch["spec"] == {
        "interface": None,
        "nodeSelector": None,
        "preferredNodes": ["server2", "server1"],
        "announce": None,
        "healthCheck": {"type": "tcp", "port": 80},
    }
    merged = {k: v for k, v in {**body["spec"], **patch["spec"]}.items() if v is not None}
    again = stored(after, node="server3", preempt=True, holdDownSeconds=30)
    assert validation.parse_spec(merged) == validation.parse_spec(again["spec"])
    assert merged["address"] == "192.0.2.3" and merged["node"] == "server3"
    assert merged["preempt"] is True and merged["holdDownSeconds"] == 30
    assert servicerecords.template_patch(again, pool(after)) is None


def test_nothing_is_patched_from_or_into_an_invalid_spec() -> None:
    invalid_pool = holdings.pool_view({"metadata": {"name": "blue"}, "spec": {"addresses": []}})
    assert servicerecords.template_patch(stored({}), invalid_pool) is None
    broken = stored({})
    broken["spec"]["address"] = "not-an-address"
    assert servicerecords.template_patch(broken, pool({"preferredNodes": ["server1"]})) is None


def test_only_the_pools_own_current_virtualips_are_retemplated() -> None:
    edited = pool({"preferredNodes": ["server2"]})
    behind = stored({})
    outside = stored({})
    outside["metadata"]["name"] = "svc-default.old-v4"
    outside["spec"]["address"] = "192.0.2.200"
    standalone = stored({})
    standalone["metadata"]["name"] = "mine"
    del standalone["metadata"]["labels"]
    bodies = {b["metadata"]["name"]: b for b in (behind, outside, standalone)}
    views = [v for b in bodies.values() if (v := holdings.vip_view(b)) is not None]
    [(name, pool_name, patch)] = servicerecords.retemplates([edited], views, bodies, set())
    assert (name, pool_name) == ("svc-default.web-v4", "blue")
    assert patch["spec"]["preferredNodes"] == ["server2"]
    assert servicerecords.retemplates([edited], views, bodies, {"svc-default.web-v4"}) == []
    assert servicerecords.retemplates([pool({})], views, bodies, set()) == []

"""A Service loop pass's inputs (floatip_operator.serviceinputs), no I/O.

Proves: the Services floatip serves are told from those it lets go (deleted, or no longer of
its class, still carrying its finalizer) and from those it never served; a Service's request
and a VirtualIP's view are parsed again only when their resourceVersion changed; deleted pools
and unparsable VirtualIPs are left out.
"""

from __future__ import annotations

from typing import Any

from floatip.api import servicerequests, services
from floatip_operator import serviceinputs


def service(name: str, version: str, **extra: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default", "resourceVersion": version,
            **extra.pop("meta", {})}  # fmt: skip
    spec = {"type": "LoadBalancer", "loadBalancerClass": services.CLASS, **extra}
    return {"metadata": meta, "spec": spec}


def vip(name: str, address: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": version}, "spec": {"address": address}}


def test_inputs_sort_the_services_and_parse_only_what_changed(monkeypatch: Any) -> None:
    parsed: list[str] = []
    real = servicerequests.read
    monkeypatch.setattr(servicerequests, "read",
                        lambda body: parsed.append(body["metadata"]["name"]) or real(body))  # fmt: skip
    inputs = serviceinputs.Inputs(default_class=False)
    gone = service("gone", "1", meta={"deletionTimestamp": "2026-01-01T00:00:00Z",
                                      "finalizers": [services.FINALIZER]})  # fmt: skip
    other = service("other", "1", loadBalancerClass="example.com/lb")
    store = {"default/web": service("web", "1"), "default/gone": gone, "default/other": other}
    vips = {"a": vip("a", "192.0.2.1", "5"), "bad": vip("bad", "not an address", "5")}
    pools = {"deleted": {"metadata": {"name": "deleted", "deletionTimestamp": "x"}, "spec": {}}}
    read = inputs.read(store, pools, vips, {"default": {"metadata": {"labels": {"team": "a"}}}})
    assert list(read.ours) == ["default/web"]
    assert [b["metadata"]["name"] for b in read.letting_go] == ["gone"]
    assert [v.name for v in read.vip_views] == ["a"] and read.pool_views == []
    assert read.namespaces == {"default": {"team": "a"}}
    inputs.read(store, pools, vips, {})
    store["default/web"] = service("web", "2", externalTrafficPolicy="Local")
    again = inputs.read(store, pools, vips, {})
    assert parsed == ["web", "web"]  # the unchanged second pass parsed nothing
    assert again.requests["default/web"].local

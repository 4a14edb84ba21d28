"""What ``floatip validate`` finds in a Service is what the operator would report on it.

Proves: a Service floatip serves (type LoadBalancer, class floatip.io/l2 or none) is judged by
`servicerequests`, and its problems are exactly the operator's ``InvalidRequest`` message, for
any mix of annotations and families (hypothesis); floatip's annotations on a Service it does
not serve are an error naming them; Services of other classes or types, and other kinds, are
not floatip's to judge; a Service without a name is refused.
"""

from __future__ import annotations

from typing import Any

import hypothesis
from hypothesis import strategies as st

from floatip.api import servicerequests, services, validation


def service(
    spec: dict[str, Any], annotations: dict[str, str] | None = None, name: str = "web"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


LB = {"type": "LoadBalancer", "loadBalancerClass": services.CLASS, "ports": [{"port": 80}]}

address_texts = st.lists(
    st.sampled_from(
        ["192.0.2.1", "192.0.2.2", "2001:db8::1", "192.0.2.300", "nonsense", " ", "10.0.0.0/8"]
    ),
    max_size=4,
).map(", ".join)
families = st.lists(st.sampled_from(["IPv4", "IPv6", "IPv5"]), max_size=3)
pool_names = st.sampled_from(["general", "Bad_Name", "", "a" * 300, "edge.example"])


@hypothesis.given(
    addresses=st.none() | address_texts,
    pool=st.none() | pool_names,
    ip_families=st.none() | families,
    legacy=st.none() | st.sampled_from(["192.0.2.9", "2001:db8::9", "bad"]),
)
def test_validate_reports_exactly_what_the_operator_would(
    addresses: str | None, pool: str | None, ip_families: list[str] | None, legacy: str | None
) -> None:
    annotations = {}
    if addresses is not None:
        annotations[services.ADDRESSES_ANNOTATION] = addresses
    if pool is not None:
        annotations[services.POOL_ANNOTATION] = pool
    spec = dict(LB)
    if ip_families is not None:
        spec["ipFamilies"] = ip_families
    if legacy is not None:
        spec["loadBalancerIP"] = legacy
    body = service(spec, annotations)
    found = validation.validate_service_manifest(body)
    assert validation.concerns_floatip(body)
    assert "; ".join(p.message for p in found) == servicerequests.read(body).problems
    assert all(p.path == "" for p in found)


def test_a_valid_floatip_service_has_no_problem() -> None:
    body = service(dict(LB), {services.ADDRESSES_ANNOTATION: "192.0.2.1"})
    assert validation.validate_service_manifest(body) == []


def test_a_classless_load_balancer_is_floatips_as_the_chart_default_has_it() -> None:
    body = service({"type": "LoadBalancer"}, {services.POOL_ANNOTATION: "Bad_Name"})
    assert validation.concerns_floatip(body)
    (problem,) = validation.validate_service_manifest(body)
    assert "not a pool's name" in problem.message


def test_floatip_annotations_on_a_service_floatip_does_not_serve_are_an_error() -> None:
    for spec in ({"type": "ClusterIP"}, {"type": "LoadBalancer", "loadBalancerClass": "x/y"}):
        body = service(spec, {services.ADDRESSES_ANNOTATION: "192.0.2.1"})
        assert validation.concerns_floatip(body)
        (problem,) = validation.validate_service_manifest(body)
        assert problem.path == "metadata.annotations"
        assert services.ADDRESSES_ANNOTATION in problem.message
        assert "remove the annotations" in problem.message


def test_services_and_kinds_that_are_not_floatips_are_not_judged() -> None:
    other_class = service({"type": "LoadBalancer", "loadBalancerClass": "metallb.io/l2"})
    cluster_ip = service({"type": "ClusterIP"})
    pool = {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIPPool", "metadata": {}}
    for body in (other_class, cluster_ip, pool, "text", None):
        assert not validation.concerns_floatip(body)
    assert validation.is_service(cluster_ip)
    assert not validation.is_service(pool)


def test_a_service_without_a_name_is_refused() -> None:
    body = service(dict(LB))
    body["metadata"] = {"namespace": "default"}
    (problem,) = validation.validate_service_manifest(body)
    assert problem.path == "metadata.name"
    assert validation.validate_service_manifest([]) != []

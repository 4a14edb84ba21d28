"""Hypothesis strategies that build valid VirtualIP specs in their JSON form."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from floatip.api import addresses

node_names = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?\Z")
group_names = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
label_keys = st.from_regex(
    r"\A([a-z0-9]{1,8}\.io/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?\Z"
)
label_values = st.from_regex(r"\A([A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?)?\Z")


@st.composite
def vip_addresses(draw: st.DrawFn) -> str:
    version = draw(st.sampled_from([4, 6]))
    host = draw(st.ip_addresses(v=version))
    max_prefix = 32 if version == 4 else 128
    prefix = draw(st.none() | st.integers(1, max_prefix))
    text = str(host) if prefix is None else f"{host}/{prefix}"
    # Most random addresses are usable; reject the rest (loopback, network address, ...).
    ok = not addresses.address_problems(text)
    if not ok:
        fallback = ipaddress.ip_address("192.0.2.7" if version == 4 else "2001:db8::7")
        text = str(fallback) if prefix is None else f"{fallback}/{max_prefix}"
    return text


@st.composite
def selectors(draw: st.DrawFn) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    if draw(st.booleans()):
        selector["matchLabels"] = draw(st.dictionaries(label_keys, label_values, max_size=3))
    if draw(st.booleans()):
        terms = []
        for _ in range(draw(st.integers(0, 3))):
            operator = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            term: dict[str, Any] = {"key": draw(label_keys), "operator": operator}
            if operator in ("In", "NotIn"):
                term["values"] = draw(st.lists(label_values, min_size=1, max_size=3))
            terms.append(term)
        selector["matchExpressions"] = terms
    return selector


@st.composite
def health_checks(draw: st.DrawFn) -> dict[str, Any]:
    check: dict[str, Any] = {
        "type": draw(st.sampled_from(["tcp", "http"])),
        "port": draw(st.integers(1, 65535)),
    }
    interval = draw(st.integers(1, 300))
    check["intervalSeconds"] = interval
    check["timeoutSeconds"] = draw(st.integers(1, min(interval, 60)))
    check["rise"] = draw(st.integers(1, 10))
    check["fall"] = draw(st.integers(1, 10))
    if check["type"] == "http" and draw(st.booleans()):
        check["path"] = draw(st.from_regex(r"\A/[a-z0-9/._-]{0,20}\Z"))
    return check


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {"address": draw(vip_addresses())}
    if draw(st.booleans()):
        spec["interface"] = draw(st.from_regex(r"\A[a-z][a-z0-9.-]{0,14}\Z"))
    if draw(st.booleans()):
        spec["nodeSelector"] = draw(selectors())
    preferred = draw(st.lists(node_names, max_size=4, unique=True))
    if preferred:
        spec["preferredNodes"] = preferred
        spec["preempt"] = draw(st.booleans())
    if draw(st.booleans()):
        spec["node"] = draw(node_names)
    if draw(st.booleans()):
        spec["announce"] = {
            "burstCount": draw(st.integers(1, 10)),
            "burstIntervalMilliseconds": draw(st.integers(10, 5000)),
            "secondBurstDelaySeconds": draw(st.integers(0, 300)),
            "refreshIntervalSeconds": draw(st.integers(0, 3600)),
        }
    if draw(st.booleans()):
        spec["healthCheck"] = draw(health_checks())
    if draw(st.booleans()):
        spec["group"] = draw(group_names)
    return spec


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

spec_keys = st.sampled_from(
    [
        "address",
        "interface",
        "nodeSelector",
        "preferredNodes",
        "preempt",
        "node",
        "announce",
        "healthCheck",
        "group",
        "bogus",
    ]
)

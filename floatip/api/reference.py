"""The field reference of VirtualIP and VirtualIPPool, generated from the CRDs (the model's).

``docs/reference.md`` is this module's output (``floatip crd --reference``); a test fails when
the two differ, so the docs can no more drift from the model than the CRD can.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from floatip.api import crd, names, pools


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = str(schema.get("type", "object"))
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"map of {_type_of(schema['additionalProperties'])}"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    return kind


def _bounds(schema: Mapping[str, Any]) -> str:
    parts = []
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"{schema.get('minimum', '')} to {schema.get('maximum', '')}")
    if "maxLength" in schema:
        parts.append(f"≤ {schema['maxLength']} chars")
    if "minItems" in schema:
        parts.append(f"≥ {schema['minItems']} items")
    if "maxItems" in schema:
        parts.append(f"≤ {schema['maxItems']} items")
    if schema.get("x-kubernetes-list-type") == "set":
        parts.append("no duplicates")
    return ", ".join(parts)


def _rows(schema: Mapping[str, Any], path: str) -> Iterator[str]:
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        field = f"{path}.{name}"
        default = (
            f"`{json.dumps(sub['default'])}`" if "default" in sub and sub["default"] != {} else ""
        )
        description = " ".join(str(sub.get("description", "")).split())
        items = sub.get("items", {})
        own_rules = [*sub.get("x-kubernetes-validations", ())]
        if isinstance(items, Mapping):
            own_rules += items.get("x-kubernetes-validations", ())
        rules = "; ".join(rule["message"] for rule in own_rules)
        if rules:
            description += f" *Rules:* {rules}."
        mark = " (required)" if name in required else ""
        description = description.replace("|", "\\|")
        yield f"| `{field}`{mark} | {_type_of(sub)} | {default} | {_bounds(sub)} | {description} |"
        if "properties" in sub:
            yield from _rows(sub, field)
        elif isinstance(items, Mapping) and "properties" in items:
            yield from _rows(items, f"{field}[]")


#: What a kind's section says before its fields.
_INTRODUCTIONS: dict[str, list[str]] = {
    names.KIND: [
        "Groups: VirtualIPs that name the same `spec.group` always share one holder "
        "(keepalived's vrrp_sync_group). The group is a field on each member, not an object "
        "of its own: no further CRD, RBAC rule or object to keep in step in GitOps, and "
        "membership is declared where the address is, as keepalived's sync group names its "
        "members. Every member carries a `Grouped` condition: True with reason `Together` "
        "(naming the members and their node), or False with `GroupConflict` (members pin "
        "different nodes, or list different preferredNodes/preempt) or `GroupUnplaceable` (no "
        "node is eligible for every member); then `Assigned` and `Ready` say the same and a "
        "Warning Event is posted. Neither leaves an address on a failed holder: a conflicting "
        "group is placed as if no member set a pin or preferences (together, and failed over "
        "like any group: only the pin and preemption are ignored), and a group no node may hold "
        "whole is split as little as possible (members whose holder may keep them stay, the "
        "others go to the node eligible for the most of them) until a node may hold it all. A "
        "member moved to join the rest of its group records the move reason `JoinedGroup`.",
        "",
    ],
    names.POOL_KIND: [
        "A pool of addresses for Services of type LoadBalancer (MetalLB's IPAddressPool), "
        "validated by the CRD, the model and `floatip validate`. The operator gives Services "
        "of type LoadBalancer addresses from pools, each allocation a VirtualIP labelled "
        "`floatip.io/pool` (docs/services.md), and writes every pool's status.",
        "",
        "What the status says (the operator's leader writes it, and only when it changed): "
        "per family the pool has, `total` addresses it hands out, `allocated` (distinct "
        "addresses of VirtualIPs whose `spec.address` lies in the pool, whoever made them) and "
        "`available` (what is left once the allocated addresses and those in use on the wire "
        "are taken out). `inUseOnWire` lists the pool's addresses a foreign host answered for "
        "when a node probed them before taking them (address, that host's MAC, the node that "
        "probed, since): they are never handed out automatically, and an entry is forgotten "
        f"{pools.IN_USE_ON_WIRE_FORGOTTEN_S // 60} minutes after its `since` once no "
        "VirtualIP reports it, or as soon as a node took the address (docs/services.md, "
        '"An address in use on the wire"). `Ready` is True when the spec is valid and nothing '
        "overlaps the pool, with reason `Ready`, or `Exhausted` when no address is left; "
        "otherwise False with reason `InvalidSpec` (the model's problems, as "
        "`floatip validate` words them: the operator applies the rules the CRD cannot) or the "
        "Overlap condition's reason. `Overlap` is True with reason `OverlapsPool` when the pool "
        "shares addresses with another valid pool (both pools say so, naming each other and "
        "the addresses shared), or `OverlapsVirtualIP` when it holds the address of a "
        "standalone VirtualIP: one not labelled `floatip.io/pool: <this pool>`. Allocation "
        "sets that label on every VirtualIP it creates; a VirtualIP made by hand inside "
        "a pool is an overlap, because the address is taken and the pool must never hand it "
        "out (move the VirtualIP out of the pool, or the pool off the address). `Overlap` is "
        "Unknown while the spec is invalid, and an invalid pool overlaps no other. Each "
        "change of a condition's status or reason (or of what a True `Overlap` names) posts "
        "one Event regarding the pool (`kubectl describe vippool NAME`), a Warning for "
        "`InvalidSpec`, `OverlapsPool`, `OverlapsVirtualIP` and `Exhausted`, and logs one "
        "line.",
        "",
        "How its addresses count (`floatip.api.pools`): a CIDR shorter than /31 (IPv4) or "
        "/127 (IPv6) never hands out its network address (for IPv6 the Subnet-Router anycast "
        "address), nor its broadcast address (IPv4), so `192.0.2.0/28` holds 14 addresses; a "
        "range `FIRST-LAST` holds every address it names, both ends included, so a pool that "
        "wants a subnet's first or last address names it with a range. MetalLB hands both "
        "out unless `avoidBuggyIPs` is set, which then skips every address ending in .0 or "
        ".255. Entries of one pool must not share addresses. The next address handed out is "
        "the lowest free one, so the choice depends on nothing but the pool and the addresses "
        "taken. Counts in `status` are int64: an IPv6 pool larger than a /65 reports "
        "9223372036854775807 (2^63 - 1).",
        "",
        "Which pool a Service draws from first: the lowest `priority`, then pools without "
        "one, ties by name. What the CRD checks and what only the model does: each entry's "
        "syntax, family, unicast addresses and host bits, and exact duplicates, are CEL and "
        "schema rules; a range's order, a range across special addresses (multicast, "
        "loopback, ...) and entries that share addresses are checked by the model "
        "(`floatip validate`, and the operator when it reads pools: `InvalidSpec`), "
        "since CEL has no order on addresses.",
        "",
    ],
}


def render_reference() -> str:
    """The whole reference page: every kind, its spec and its status."""
    lines = [
        "# floatip API reference",
        "",
        "<!-- Generated by `floatip crd --reference` from floatip/api/model/; do not edit. -->",
        "",
    ]
    for kind in crd.KINDS.values():
        lines += _kind_section(kind)
    return "\n".join(lines).rstrip("\n")


def _kind_section(kind: crd.Kind) -> list[str]:
    schema = crd.openapi_schema(kind.kind)
    lines = [
        f"## {kind.kind}",
        "",
        f"`apiVersion: {names.API_VERSION}`, `kind: {kind.kind}`, cluster-scoped, "
        f"short name `{kind.short_names[0]}`.",
        "",
        *_INTRODUCTIONS.get(kind.kind, []),
    ]
    for part in ("spec", "status"):
        section = schema["properties"][part]
        lines += [
            f"### {kind.kind} {part}",
            "",
            " ".join(section.get("description", "").split()),
            "",
            "| field | type | default | bounds | meaning |",
            "| --- | --- | --- | --- | --- |",
            *_rows(section, part),
            "",
        ]
        whole_rules = section.get("x-kubernetes-validations", ())
        if whole_rules:
            lines += ["Rules across fields:", ""]
            lines += [f"- {rule['message']}" for rule in whole_rules]
            lines += [""]
    return lines

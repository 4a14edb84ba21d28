"""A VirtualIPPool's status (pure): counts, Ready and Overlap, transition times, patch, Events.

Proves: counts per family (total, allocated as distinct addresses of VirtualIPs inside,
available), only for the families the pool has, capped at int64; a VirtualIP outside every
pool or with an unparsable address counts nowhere; Ready True (Ready, or Exhausted when full)
exactly when the spec is valid and nothing overlaps; an invalid spec is Ready False InvalidSpec
with the model's message, no counts, Overlap Unknown, and is ignored by other pools; two
overlapping pools are both Overlap True OverlapsPool naming each other and the shared span; a
standalone VirtualIP inside a pool is OverlapsVirtualIP, one labelled as allocated from the
pool is not (labelled from another pool it still is); messages name at most `NAMED`;
lastTransitionTime survives while a status holds and an unchanged world rebuilds an identical
status (no write), as a property over random pools and VirtualIPs, with the invariants
total = allocated + available and Overlap symmetric between pools; the merge patch is guarded
by resourceVersion and nulls dropped fields; Events only when a condition's status or reason
changes (or a True Overlap's message), Warning for trouble, none for a new pool's all-clear.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import names, pools
from floatip.api import status as api_status
from floatip_operator import notices, poolstatuses

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def _pool(name: str, *addresses: str, generation: int = 1, **spec: Any) -> dict[str, Any]:
    body = {"addresses": list(addresses), **spec}
    return {"metadata": {"name": name, "generation": generation}, "spec": body}


def _vip(name: str, address: str, pool: str | None = None) -> dict[str, Any]:
    labels = {names.POOL_LABEL: pool} if pool else {}
    return {"metadata": {"name": name, "labels": labels}, "spec": {"address": address}}


def _build(
    pool_bodies: list[dict[str, Any]],
    vip_bodies: list[dict[str, Any]] = (),  # type: ignore[assignment]
    previous: dict[str, Any] | None = None,
    now: str = T0,
) -> dict[str, dict[str, Any]]:
    parsed = [poolstatuses.parse_pool(body) for body in pool_bodies]
    vips = [v for body in vip_bodies if (v := poolstatuses.vip_of(body))]
    return poolstatuses.build_all(previous or {}, parsed, vips, now=now)


def _cond(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = api_status.condition(status, kind)
    assert found, kind
    return dict(found)


# -- counts --------------------------------------------------------------------------------------


def test_counts_per_family_from_the_virtualips_inside() -> None:
    built = _build(
        [_pool("a", "192.0.2.0/28", "2001:db8::10-2001:db8::13")],
        [
            _vip("one", "192.0.2.1/24"),
            _vip("same-address", "192.0.2.1"),
            _vip("v6", "2001:db8::11"),
            _vip("outside", "192.0.2.200"),
            _vip("network-address-not-handed-out", "192.0.2.16/24"),
        ],
    )["a"]
    assert built["observedGeneration"] == 1
    assert built["ipv4"] == {"total": 14, "allocated": 1, "available": 13}
    assert built["ipv6"] == {"total": 4, "allocated": 1, "available": 3}


def test_a_family_the_pool_lacks_is_left_out() -> None:
    built = _build([_pool("a", "192.0.2.8-192.0.2.9")])["a"]
    assert "ipv6" not in built
    assert built["ipv4"] == {"total": 2, "allocated": 0, "available": 2}


def test_huge_ipv6_counts_are_capped_at_int64() -> None:
    built = _build([_pool("a", "2001:db8::/64")], [_vip("x", "2001:db8::5")])["a"]
    assert built["ipv6"] == {
        "total": pools.INT64_MAX,
        "allocated": 1,
        "available": pools.INT64_MAX,
    }


def test_a_virtualip_whose_address_does_not_parse_counts_nowhere() -> None:
    bodies = [_vip("bad", "not-an-address"), {"metadata": {"name": "nospec"}}]
    assert _build([_pool("a", "192.0.2.0/28")], bodies)["a"]["ipv4"]["allocated"] == 0


# -- Ready and Overlap ---------------------------------------------------------------------------


def test_a_valid_pool_alone_is_ready_without_overlap() -> None:
    built = _build([_pool("a", "192.0.2.0/30")])["a"]
    assert [c["type"] for c in built["conditions"]] == ["Ready", "Overlap"]
    ready, overlap = _cond(built, "Ready"), _cond(built, "Overlap")
    assert (ready["status"], ready["reason"]) == ("True", "Ready")
    assert ready["message"] == "2 IPv4 addresses to hand out"
    assert (overlap["status"], overlap["reason"]) == ("False", "NoOverlap")
    assert all(c["lastTransitionTime"] == T0 for c in built["conditions"])
    assert all(c["observedGeneration"] == 1 for c in built["conditions"])


def test_a_full_pool_is_ready_but_exhausted() -> None:
    built = _build(
        [_pool("a", "192.0.2.8-192.0.2.9")],
        [_vip("x", "192.0.2.8", pool="a"), _vip("y", "192.0.2.9", pool="a")],
    )["a"]
    ready = _cond(built, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Exhausted")
    assert built["ipv4"]["available"] == 0


def test_an_invalid_spec_is_not_ready_and_names_the_problem() -> None:
    built = _build([_pool("bad", "192.0.2.20-192.0.2.10", generation=3)])["bad"]
    ready, overlap = _cond(built, "Ready"), _cond(built, "Overlap")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "spec.addresses[0]" in ready["message"]
    assert "192.0.2.10-192.0.2.20" in ready["message"]  # what to write instead
    assert (overlap["status"], overlap["reason"]) == ("Unknown", "InvalidSpec")
    assert "ipv4" not in built and built["observedGeneration"] == 3


def test_an_invalid_pool_does_not_overlap_others() -> None:
    built = _build(
        [_pool("a", "192.0.2.0/28"), _pool("bad", "192.0.2.0/28", priority=-1)],
    )
    assert _cond(built["a"], "Overlap")["status"] == "False"
    assert _cond(built["bad"], "Ready")["reason"] == "InvalidSpec"


def test_overlapping_pools_are_both_flagged_naming_each_other() -> None:
    built = _build([_pool("a", "192.0.2.0/28"), _pool("b", "192.0.2.8-192.0.2.20")])
    for mine, theirs in (("a", "b"), ("b", "a")):
        overlap, ready = _cond(built[mine], "Overlap"), _cond(built[mine], "Ready")
        assert (overlap["status"], overlap["reason"]) == ("True", "OverlapsPool")
        assert f"pool {theirs} (192.0.2.8-192.0.2.14" in overlap["message"]
        assert (ready["status"], ready["reason"]) == ("False", "OverlapsPool")
        assert ready["message"] == overlap["message"]


def test_pools_of_other_families_or_spans_do_not_overlap() -> None:
    built = _build(
        [_pool("a", "192.0.2.0/28"), _pool("b", "192.0.2.16/28"), _pool("c", "2001:db8::/120")]
    )
    assert all(_cond(s, "Overlap")["status"] == "False" for s in built.values())


def test_a_standalone_virtualip_inside_a_pool_is_an_overlap() -> None:
    built = _build([_pool("a", "192.0.2.0/28")], [_vip("manual", "192.0.2.5/24")])["a"]
    overlap = _cond(built, "Overlap")
    assert (overlap["status"], overlap["reason"]) == ("True", "OverlapsVirtualIP")
    assert "VirtualIP manual (192.0.2.5)" in overlap["message"]
    assert _cond(built, "Ready")["reason"] == "OverlapsVirtualIP"
    assert built["ipv4"]["allocated"] == 1  # taken all the same


def test_a_virtualip_allocated_from_the_pool_is_no_overlap() -> None:
    built = _build([_pool("a", "192.0.2.0/28")], [_vip("svc", "192.0.2.5", pool="a")])["a"]
    assert _cond(built, "Overlap")["status"] == "False"
    assert built["ipv4"]["allocated"] == 1


def test_a_virtualip_labelled_for_another_pool_is_standalone_here() -> None:
    built = _build([_pool("a", "192.0.2.0/28")], [_vip("svc", "192.0.2.5", pool="b")])["a"]
    assert _cond(built, "Overlap")["reason"] == "OverlapsVirtualIP"


def test_a_virtualip_in_two_pools_flags_both_pools() -> None:
    built = _build(
        [_pool("a", "192.0.2.0/28"), _pool("b", "192.0.2.5-192.0.2.5")],
        [_vip("x", "192.0.2.5", pool="a")],
    )
    assert _cond(built["a"], "Overlap")["reason"] == "OverlapsPool"  # pools first
    b = _cond(built["b"], "Overlap")
    assert b["reason"] == "OverlapsPool" and "VirtualIP x (192.0.2.5)" in b["message"]


def test_messages_name_a_few_and_count_the_rest() -> None:
    vips = [_vip(f"v{i}", f"192.0.2.{i}") for i in range(1, 9)]
    message = _cond(_build([_pool("a", "192.0.2.0/28")], vips)["a"], "Overlap")["message"]
    assert message.count("VirtualIP v") == poolstatuses.NAMED
    assert "and 3 more" in message


# -- steady state, transitions, patch ------------------------------------------------------------


def test_an_unchanged_world_rebuilds_the_same_status() -> None:
    bodies = [_pool("a", "192.0.2.0/28")]
    first = _build(bodies, [_vip("x", "192.0.2.1")], now=T0)
    again = _build(bodies, [_vip("x", "192.0.2.1")], previous=first, now=T1)
    assert again == first
    assert not poolstatuses.changed(first["a"], again["a"])


def test_transition_time_moves_only_with_the_status() -> None:
    first = _build([_pool("a", "192.0.2.0/28")], now=T0)
    counted = _build([_pool("a", "192.0.2.0/28")], [_vip("x", "192.0.2.1", "a")], first, T1)
    assert _cond(counted["a"], "Ready")["lastTransitionTime"] == T0  # still True
    overlapping = _build([_pool("a", "192.0.2.0/28")], [_vip("x", "192.0.2.1")], first, T1)
    assert _cond(overlapping["a"], "Ready")["lastTransitionTime"] == T1
    assert _cond(overlapping["a"], "Overlap")["lastTransitionTime"] == T1


def test_changed_reads_only_the_operators_fields() -> None:
    built = _build([_pool("a", "192.0.2.0/28")])["a"]
    assert poolstatuses.changed(None, built)
    assert not poolstatuses.changed({**built, "extra": 1}, built)
    assert poolstatuses.changed({**built, "observedGeneration": 0}, built)


def test_patch_is_guarded_and_drops_fields_the_pool_no_longer_has() -> None:
    old = _build([_pool("a", "192.0.2.0/28", "2001:db8::/120")])["a"]
    new = _build([_pool("a", "192.0.2.0/28", generation=2)], previous={"a": old})["a"]
    body = poolstatuses.patch(old, new, "42")
    assert body["metadata"] == {"resourceVersion": "42"}
    assert body["status"]["ipv6"] is None
    assert body["status"]["ipv4"] == new["ipv4"]
    assert body["status"]["conditions"] == new["conditions"]
    assert poolstatuses.patch(None, new, "1")["status"] == new


# -- Events --------------------------------------------------------------------------------------


def _reasons(found: list[notices.Notice]) -> list[tuple[str, str]]:
    return [(n.type.value, n.reason.value) for n in found]


def test_a_new_pool_posts_ready_only() -> None:
    built = _build([_pool("a", "192.0.2.0/28")])["a"]
    assert _reasons(notices.pool_notices(None, built)) == [("Normal", "Ready")]
    assert notices.pool_notices(built, built) == []


def test_an_overlap_posts_warnings_and_its_end_normal_events() -> None:
    alone = _build([_pool("a", "192.0.2.0/28")])["a"]
    both = [_pool("a", "192.0.2.0/28"), _pool("b", "192.0.2.0/29")]
    overlapping = _build(both, previous={"a": alone})["a"]
    found = notices.pool_notices(alone, overlapping)
    assert _reasons(found) == [("Warning", "OverlapsPool"), ("Warning", "OverlapsPool")]
    assert found[1].note.startswith("Overlap: shares addresses with pool b")
    cleared = _build([_pool("a", "192.0.2.0/28")], previous={"a": overlapping})["a"]
    assert _reasons(notices.pool_notices(overlapping, cleared)) == [
        ("Normal", "Ready"),
        ("Normal", "NoOverlap"),
    ]


def test_a_true_overlap_naming_something_new_posts_again_counts_do_not() -> None:
    one = _build([_pool("a", "192.0.2.0/28")], [_vip("x", "192.0.2.1")])["a"]
    two = _build([_pool("a", "192.0.2.0/28")], [_vip("x", "192.0.2.1"), _vip("y", "192.0.2.2")])
    assert _reasons(notices.pool_notices(one, two["a"])) == [("Warning", "OverlapsVirtualIP")]
    free = _build([_pool("a", "192.0.2.0/28")])["a"]
    fewer = _build([_pool("a", "192.0.2.0/28")], [_vip("x", "192.0.2.1", "a")], {"a": free})
    assert notices.pool_notices(free, fewer["a"]) == []


def test_an_invalid_spec_posts_a_warning_with_the_problem() -> None:
    bad = _build([_pool("a", "192.0.2.0/27", "192.0.2.8/29")])["a"]
    found = notices.pool_notices(None, bad)
    assert _reasons(found) == [("Warning", "InvalidSpec"), ("Warning", "InvalidSpec")]
    assert "share" in found[0].note


# -- properties ----------------------------------------------------------------------------------

_BASE = int(ipaddress.IPv4Address("192.0.2.0"))


@st.composite
def _ranges(draw: st.DrawFn) -> str:
    first = draw(st.integers(1, 40))
    last = draw(st.integers(first, 48))
    return f"{ipaddress.IPv4Address(_BASE + first)}-{ipaddress.IPv4Address(_BASE + last)}"


@st.composite
def _worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pool_names = draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True))
    bodies = [_pool(name, draw(_ranges())) for name in pool_names]
    vips = [
        _vip(f"v{i}", str(ipaddress.IPv4Address(_BASE + draw(st.integers(1, 50)))), label)
        for i, label in enumerate(draw(st.lists(st.sampled_from([None, "a", "b"]), max_size=8)))
    ]
    return bodies, vips


@settings(max_examples=200, deadline=None)
@given(_worlds())
def test_properties_of_every_world(
    world: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    bodies, vip_bodies = world
    built = _build(bodies, vip_bodies)
    parsed = {p.name: p.pool for p in map(poolstatuses.parse_pool, bodies)}
    vips = [v for b in vip_bodies if (v := poolstatuses.vip_of(b))]
    for name, pool in parsed.items():
        assert pool is not None
        counts = built[name]["ipv4"]
        inside = {v.address for v in vips if pool.includes(v.address)}
        assert counts["total"] == counts["allocated"] + counts["available"]
        assert counts["allocated"] == len(inside)
        other_pools = any(
            pools.overlaps(pool, theirs) for other, theirs in parsed.items() if other != name
        )
        standalone = any(v.pool != name for v in vips if pool.includes(v.address))
        overlap = _cond(built[name], "Overlap")
        assert (overlap["status"] == "True") == (other_pools or standalone)
        assert (_cond(built[name], "Ready")["status"] == "True") == (overlap["status"] == "False")
        for other in parsed:
            if other != name and f"pool {other} (" in overlap["message"]:
                assert f"pool {name} (" in _cond(built[other], "Overlap")["message"]
    again = poolstatuses.build_all(
        built, [poolstatuses.parse_pool(b) for b in bodies], vips, now=T1
    )
    assert again == built

"""The VirtualIPPool status the operator writes, computed from every pool and VirtualIP (pure).

docs/reference.md "VirtualIPPool status". For each pool:

- ``ipv4`` / ``ipv6``: ``total`` (what the pool hands out, `floatip.api.pools`), ``allocated``
  (distinct addresses of VirtualIPs whose ``spec.address`` lies in the pool, whoever made
  them: a taken address is never handed out) and ``available`` (what is left once the
  allocated ones and those in use on the wire are taken out), each bounded by `pools.capped`
  (int64 on the wire). A family appears only when the pool has addresses of it; an invalid
  pool has no counts.
- ``inUseOnWire``: the pool's addresses a foreign host answered for at a take's probe
  (`onwire.remembered`: reported by a VirtualIP now, or listed before and not forgotten yet);
  absent when there are none.
- ``Ready``: True (``Ready``; ``Exhausted`` when nothing is left to hand out) when the spec is
  valid and the pool overlaps nothing; False with ``InvalidSpec`` (the model's problems as the
  message) or the Overlap condition's reason otherwise.
- ``Overlap``: True when the pool shares addresses with another valid pool (``OverlapsPool``,
  on both pools) or holds the address of a *standalone* VirtualIP (``OverlapsVirtualIP``):
  one not labelled `names.POOL_LABEL` with this pool's name (allocation sets that label; until
  it exists every VirtualIP is standalone). Pools are named first when both apply; the
  message names them all (up to `NAMED`). Unknown while the spec is invalid; an invalid pool
  hands out nothing, so other pools do not count it.
- A condition keeps its ``lastTransitionTime`` while its status does not change, so an
  unchanged world builds an identical status: the operator writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from floatip.api import addresses, model, names, pools, status, times, validation
from floatip_operator import onwire

TRUE, FALSE, UNKNOWN = (
    model.ConditionStatus.TRUE,
    model.ConditionStatus.FALSE,
    model.ConditionStatus.UNKNOWN,
)
Kind = model.PoolConditionType
Why = model.PoolConditionReason
FIELDS = ("observedGeneration", "ipv4", "ipv6", "inUseOnWire", "conditions")
#: How many overlapping pools and VirtualIPs a message names (the rest are counted).
NAMED = 5


@dataclasses.dataclass(frozen=True)
class ParsedPool:
    """One pool at one generation: its addresses, or the problems that stop it."""

    name: str
    generation: int
    pool: pools.Pool | None
    problems: str = ""


class Vip(NamedTuple):
    """What pools read of one VirtualIP: its address, the pool it was allocated from, whether
    a foreign host answered the take's probe (`onwire.of_vip`) and whether a node announced it."""

    name: str
    address: addresses.IPAddress
    pool: str | None
    on_wire: onwire.Sighting | None = None
    announced: bool = False


def parse_pool(body: Mapping[str, Any]) -> ParsedPool:
    meta = body.get("metadata") or {}
    name, generation = str(meta.get("name")), int(meta.get("generation") or 0)
    try:
        spec = validation.parse_pool_spec(body.get("spec"))
    except validation.InvalidSpecError as exc:
        return ParsedPool(name, generation, None, str(exc))
    return ParsedPool(name, generation, spec.pool)


def vip_of(body: Mapping[str, Any]) -> Vip | None:
    """The VirtualIP's address and allocation label; None when its address does not parse."""
    spec = body.get("spec")
    text = spec.get("address") if isinstance(spec, Mapping) else None
    host = _host(text) if isinstance(text, str) else None
    if host is None:
        return None
    meta = body.get("metadata") or {}
    label = (meta.get("labels") or {}).get(names.POOL_LABEL)
    current = status.of(body)
    return Vip(
        str(meta.get("name")),
        host,
        label if isinstance(label, str) else None,
        onwire.of_vip(host, current) if current.get("conflict") else None,
        bool(current.get("announcement")),
    )


@functools.lru_cache(maxsize=65536)
def _host(text: str) -> addresses.IPAddress | None:
    try:
        return addresses.parse_address(text).ip
    except addresses.AddressError:
        return None


_Fresh = status.FreshCondition


def build_all(
    previous: Mapping[str, Mapping[str, Any] | None],
    parsed: Sequence[ParsedPool],
    vips: Iterable[Vip],
    *,
    now: str,
) -> dict[str, dict[str, Any]]:
    """Every pool's new status, by name (``previous``: the stored statuses, by name)."""
    valid = [p for p in parsed if p.pool is not None]
    inside: dict[str, list[Vip]] = {p.name: [] for p in valid}
    for vip in vips:
        for candidate in valid:
            assert candidate.pool is not None
            if candidate.pool.includes(vip.address):
                inside[candidate.name].append(vip)
    return {
        p.name: build(previous.get(p.name), p, valid, inside.get(p.name, []), now=now)
        for p in parsed
    }


def build(
    previous: Mapping[str, Any] | None,
    me: ParsedPool,
    valid: Sequence[ParsedPool],
    inside: Sequence[Vip],
    *,
    now: str,
) -> dict[str, Any]:
    """One pool's status: ``valid`` the valid pools (``me`` among them or not), ``inside`` the
    VirtualIPs whose address lies in ``me``."""
    new: dict[str, Any] = {"observedGeneration": me.generation}
    pool = me.pool
    if pool is None:
        message = f"the spec is invalid: {me.problems}"
        fresh = [
            _Fresh(Kind.READY, FALSE, Why.INVALID_SPEC, message),
            _Fresh(Kind.OVERLAP, UNKNOWN, Why.INVALID_SPEC, "not checked: " + message),
        ]
    else:
        taken = [vip.address for vip in inside]
        used = _in_use_on_wire(previous, pool, inside, now)
        unavailable = taken + [s.address for s in used]
        available = 0
        for version in (4, 6):
            total = pool.total(version)  # every entry holds one address at least
            if total:
                allocated = pool.allocated(version, taken)
                free = total - pool.allocated(version, unavailable)
                available += free
                new[f"ipv{version}"] = {
                    "total": pools.capped(total),
                    "allocated": pools.capped(allocated),
                    "available": pools.capped(free),
                }
        if used:
            new["inUseOnWire"] = [s.to_json() for s in used]
        overlap = _overlap(me, valid, inside)
        if overlap.value is TRUE:
            ready = _Fresh(Kind.READY, FALSE, overlap.reason, overlap.message)
        elif available == 0:
            gone = " or in use on the wire (status.inUseOnWire)" if used else ""
            ready = _Fresh(Kind.READY, TRUE, Why.EXHAUSTED, f"every address is allocated{gone}")
        else:
            ready = _Fresh(Kind.READY, TRUE, Why.READY, f"{_free(new)} to hand out")
        fresh = [ready, overlap]
    old = (previous or {}).get("conditions")
    new["conditions"] = status.settle_conditions(fresh, old, now, me.generation)
    return new


def _in_use_on_wire(
    previous: Mapping[str, Any] | None, pool: pools.Pool, inside: Sequence[Vip], now: str
) -> list[onwire.Sighting]:
    """The pool's ``inUseOnWire`` from its VirtualIPs and what it listed before."""
    live = [vip.on_wire for vip in inside if vip.on_wire is not None]
    before = (previous or {}).get("inUseOnWire")
    if not (live or before):
        return []
    moment = times.parse(now)
    return onwire.remembered(
        onwire.listed(previous or {}) if moment is not None else (),
        live,
        includes=pool.includes,
        taken_over={vip.address for vip in inside if vip.announced and vip.on_wire is None},
        now=moment or datetime.datetime.min.replace(tzinfo=datetime.UTC),
    )


def _overlap(me: ParsedPool, valid: Sequence[ParsedPool], inside: Sequence[Vip]) -> _Fresh:
    assert me.pool is not None
    shared = []
    for other in sorted(valid, key=lambda p: p.name):
        if other.name == me.name or other.pool is None:
            continue
        found = pools.overlaps(me.pool, other.pool)
        if found:
            spans = ", ".join(map(str, found[:NAMED]))
            shared.append(f"pool {other.name} ({spans}{_more(found)})")
    standalone = sorted(
        (vip for vip in inside if vip.pool != me.name), key=lambda v: (v.name, str(v.address))
    )
    vip_text = [f"VirtualIP {vip.name} ({vip.address})" for vip in standalone]
    if not shared and not standalone:
        return _Fresh(
            Kind.OVERLAP,
            FALSE,
            Why.NO_OVERLAP,
            "shares no address with another pool or a standalone VirtualIP",
        )
    parts = []
    if shared:
        parts.append("shares addresses with " + "; ".join(shared[:NAMED]) + _more(shared))
    if standalone:
        parts.append(
            "holds the address of "
            + ", ".join(vip_text[:NAMED])
            + _more(vip_text)
            + " not allocated from this pool (never handed out)"
        )
    reason = Why.OVERLAPS_POOL if shared else Why.OVERLAPS_VIRTUAL_IP
    return _Fresh(Kind.OVERLAP, TRUE, reason, "; ".join(parts))


def _more(items: Sequence[object]) -> str:
    return f" and {len(items) - NAMED} more" if len(items) > NAMED else ""


def _free(new: Mapping[str, Any]) -> str:
    counts = [f"{new[f'ipv{v}']['available']} IPv{v}" for v in (4, 6) if f"ipv{v}" in new]
    return " and ".join(counts) + (" address" if counts == ["1 IPv4"] else " addresses")


def changed(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` differs from the stored status in the fields this module writes."""
    old = previous or {}
    return any(old.get(key) != new.get(key) for key in FIELDS)


def patch(
    previous: Mapping[str, Any] | None, new: Mapping[str, Any], version: str
) -> dict[str, Any]:
    """The merge patch from ``previous`` to ``new``, guarded by ``resourceVersion``.

    The API server refuses it (409) when the pool changed since it was read: a status computed
    from an older spec, or a replica that lost the leadership, never lands. Fields the pool no
    longer has (a family removed, counts of a now invalid spec) are removed (null).
    """
    old = previous or {}
    body = {key: new.get(key) for key in FIELDS if key in new or key in old}
    return {"metadata": {"resourceVersion": version}, "status": body}

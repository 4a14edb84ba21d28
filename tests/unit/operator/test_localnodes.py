"""`localnodes.LocalNodes`: the Local Services' constraints, recomputed only after a change."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from floatip_operator import localnodes
from tests.unit.operator.test_endpoints import endpoint_slice, service


@dataclasses.dataclass
class FakeInformer:
    store: dict[str, dict[str, Any]]
    synced: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


def test_nothing_is_constrained_until_both_are_listed_then_only_a_change_recomputes() -> None:
    services = FakeInformer({"web": service("web")})
    slices = FakeInformer({"web-x": endpoint_slice("web", ("server1", True))})
    local = localnodes.LocalNodes(services, slices)  # type: ignore[arg-type]
    assert localnodes.LocalNodes(None, None).constraints() == {}
    services.synced.set()
    assert local.constraints() == {}  # the slices are not listed yet
    slices.synced.set()
    [(key, nodes)] = local.constraints().items()
    assert nodes == {"server1"}
    slices.store["web-x"] = endpoint_slice("web", ("server2", True))
    assert local.constraints()[key] == {"server1"}, "recomputed without a change said"
    local.changed()
    assert local.constraints()[key] == {"server2"}

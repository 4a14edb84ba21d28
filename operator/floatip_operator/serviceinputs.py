"""What a pass of the Service loop reads from its informers, as allocation's plain values (pure).

`Inputs.read` sorts the Services into those floatip serves and those it lets go, and turns
them, the pools, the VirtualIPs and the namespaces into what `allocation.plan` decides from.
Requests and VirtualIP views are kept between passes while their objects stay as they were
(`memo`): at a thousand Services, parsing every one again at each pass was a good part of a
pass's time.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from floatip.api import servicerequests, services
from floatip_operator import holdings, memo

Store = Mapping[str, Mapping[str, Any]]


@dataclasses.dataclass
class Read:
    """One pass's inputs."""

    ours: dict[str, Mapping[str, Any]]  # the Services floatip serves, by key
    letting_go: list[Mapping[str, Any]]  # the others still carrying floatip's finalizer
    requests: dict[str, servicerequests.Request]
    namespaces: dict[str, dict[str, str]]  # labels by namespace
    pool_views: list[holdings.PoolView]
    vip_views: list[holdings.VipView]


class Inputs:
    """Reads a pass's inputs, keeping what did not change since the last."""

    def __init__(self, *, default_class: bool) -> None:
        self.default_class = default_class
        self._requests: memo.Memo[servicerequests.Request] = memo.Memo()
        self._vip_views: memo.Memo[holdings.VipView | None] = memo.Memo()

    def request_of(self, key: str, body: Mapping[str, Any]) -> servicerequests.Request:
        """A Service's request as a pass reads it (parsed again only when it changed)."""
        derive = functools.partial(servicerequests.read, body)
        return self._requests.get(key, memo.version(body), derive)

    def vip_view_of(self, name: str, body: Mapping[str, Any]) -> holdings.VipView | None:
        """A VirtualIP as a pass reads it (parsed again only when it changed)."""
        derive = functools.partial(holdings.vip_view, body)
        return self._vip_views.get(name, memo.version(body), derive)

    def read(self, services_: Store, pools: Store, vips: Store, namespaces: Store) -> Read:
        ours: dict[str, Mapping[str, Any]] = {}
        letting_go: list[Mapping[str, Any]] = []
        for key, body in services_.items():
            serving = servicerequests.is_floatips(body, default_class=self.default_class)
            if serving and not servicerequests.being_deleted(body):
                ours[key] = body
            elif services.FINALIZER in (body["metadata"].get("finalizers") or []):
                letting_go.append(body)
        requests = {key: self.request_of(key, body) for key, body in ours.items()}
        self._requests.keep_only(ours)
        vip_views = []
        for name, body in vips.items():
            view = self.vip_view_of(name, body)
            if view is not None:
                vip_views.append(view)
        self._vip_views.keep_only(vips)
        return Read(
            ours=ours,
            letting_go=letting_go,
            requests=requests,
            namespaces={
                name: dict(body["metadata"].get("labels") or {})
                for name, body in namespaces.items()
            },
            pool_views=[
                holdings.pool_view(body)
                for body in pools.values()
                if not body["metadata"].get("deletionTimestamp")
            ],
            vip_views=vip_views,
        )

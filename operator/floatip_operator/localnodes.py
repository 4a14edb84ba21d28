"""Which nodes each Local Service's ready endpoints allow, kept fresh from two informers.

externalTrafficPolicy Local (`endpoints`): a Service-backed VirtualIP may be held only where
its Local Service(s) have a ready endpoint. Computing that reads every Service and
EndpointSlice, so it is recomputed only after one of them changed (`changed`), not at every
reconcile pass; until both informers are listed (or when the operator may not list them)
nothing is constrained.
"""

from __future__ import annotations

from floatip_operator import endpoints, informing


class LocalNodes:
    """The endpoint constraints of the Services and EndpointSlices the informers hold."""

    def __init__(
        self, services: informing.Informer | None, slices: informing.Informer | None
    ) -> None:
        self.services = services
        self.slices = slices
        self.dirty = True
        self.last: endpoints.Constraints = {}

    def changed(self) -> None:
        """A Service or an EndpointSlice changed: recompute at the next `constraints`."""
        self.dirty = True

    def constraints(self) -> endpoints.Constraints:
        """Each Local Service's nodes with a ready endpoint; empty until both are listed."""
        if self.services is None or self.slices is None:
            return {}
        if not (self.services.synced.is_set() and self.slices.synced.is_set()):
            return {}
        if self.dirty:
            self.dirty = False
            self.last = endpoints.constraints(
                self.services.store.values(), self.slices.store.values()
            )
        return self.last

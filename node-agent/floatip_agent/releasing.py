"""Letting go of one VirtualIP's address on this node, until the kernel has let go of it too.

The worker (`worker.VipWorker`) decides to release and at once stops treating the address as
held (its table entry, its announcements, its defence); what follows is I/O, owned here with
the one piece of state that can outlive the decision:

1. End the VIP's flow handoff, if one is in force (`handoffs`).
2. After a planned move, name the new holder's MAC to the LAN (`ports.Wire.redirect`), for
   neighbours that resolved ours during the overlap; a failure here only costs them time.
3. Remove the address (netlink). If the kernel refuses (EBUSY, seen when hundreds of releases
   dumped the addresses on one socket at once), the address stays a `Leftover` that the
   worker's next turns remove before they decide anything: forgetting it would leave it on
   this node for good, beside its new holder's (two holders; docs/design/protocol.md,
   "Releasing"). Taken here again meanwhile, it is the worker's to keep (`Releaser.kept`).
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import structlog

from floatip_agent import decisions, ports

log = structlog.get_logger(__name__)


class Leftover(NamedTuple):
    """An address released by this node that the kernel has not let go of yet."""

    held: decisions.Held
    cause: decisions.Cause
    why: str


class Releaser:
    """The release I/O of one VirtualIP, and the address the kernel still holds for it."""

    def __init__(self, name: str, *, io: ports.Ports) -> None:
        self.name = name
        self.io = io
        #: released but still in the kernel (its remove failed): removed before anything else
        self.leftover: Leftover | None = None

    async def release(
        self,
        held: decisions.Held | None,
        cause: decisions.Cause,
        why: str,
        *,
        redirect_to: str | None,
    ) -> None:
        """End the handoff, name the new holder's MAC (``redirect_to``), remove ``held``.

        Raises what the kernel raised if it refused the remove; the address is then the
        `leftover`, which `remove_leftover` tries again.
        """
        if self.name in self.io.handoffs.active:
            await self.io.handoffs.end(self.name)
        if held is None:
            return
        if redirect_to is not None and self.io.wire.mac(held.ifname) is not None:
            with contextlib.suppress(OSError):
                await self.io.wire.redirect(held.ifname, held.address, to_mac=redirect_to)
        self.leftover = Leftover(held, cause, why)
        await self.remove_leftover()

    async def remove_leftover(self) -> None:
        """Remove the address the kernel refused to remove before, if there is one."""
        leftover = self.leftover
        if leftover is None:
            return
        held = leftover.held
        result = await self.io.kernel.remove(held.address, ifname=held.ifname)
        self.leftover = None
        self.io.counters.releases.labels(why=leftover.cause.value).inc()
        log.info("vip-released", vip=self.name, address=str(held.address), why=leftover.why,
                 cause=leftover.cause.value, result=result)  # fmt: skip

    def kept(self, held: decisions.Held) -> None:
        """``held`` is taken (or adopted) here: if it is the leftover, it is no longer one."""
        if self.leftover is not None and self.leftover.held.address == held.address:
            self.leftover = None

"""What the agent does about one VirtualIP, given what it holds and what was assigned (pure).

Every rule of protocol.md "Epochs and handover" and "Fencing" that is a decision lives here,
apart from netlink, sockets and the API, so each one is unit tested exhaustively:

- **Take** an address assigned to this node at the newest epoch (probe, add, announce).
- **Keep** an address assigned here; an address whose spec moved is released, then taken.
- **Hand over** (make before break, DESIGN.md safety 6): an address now assigned elsewhere is
  removed only once the new holder's `status.announcement.epoch` reaches the new epoch, or the
  move's reason is Failover (the old holder was judged dead: nothing to wait for), or the
  handover timeout passed since the agent first saw the move. Never before.
  A member of a group (``spec.group``) also waits until the new holder has announced every
  other member this node still holds (`group_pending`): the old holder releases no member
  before the new one holds them all.
- **Release** at once when the VirtualIP is gone, being deleted (its finalizer waits for
  exactly that) or assigned to nobody.
- **Claims** on a held address (safety 3 and 5): while unsure, any other MAC's claim makes
  the agent release at once; otherwise a peer's claim makes it re-read the VirtualIP and a
  foreign one is a conflict (report, re-assert at a bounded rate, never move).
- **Probe** before a take (RFC 5227, safety 5) unless it is a failover's: the address was
  the cluster's up to the fault (its holder defended it and reported any foreign claim), and
  the failover budget has no room for a probe window on every successor's 1,000 addresses.
  The new holder's guard and verifier see a foreign claim at once all the same (a conflict:
  report, defend, never move). News arriving during a take stops it, unless it asks for the
  very same take (`same_take`: the status write that follows a recorded move).
- **Restart** (safety 7): owned addresses assigned here are kept and re-announced, never
  removed first; other owned addresses are removed; unowned ones are never looked at.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple

from floatip.api import model
from floatip_agent import addressing, assignments

#: protocol.md: the old holder removes the address at the latest this long after the move.
HANDOVER_TIMEOUT = 10.0


class Action(enum.StrEnum):
    TAKE = "take"
    KEEP = "keep"
    RELEASE = "release"
    WAIT = "wait"  # hold on: a planned handover has not finished yet
    IDLE = "idle"  # nothing held, nothing to hold


class Cause(enum.StrEnum):
    """Why a decision is what it is: the label of metrics and the key of Events, never text.

    The values of the causes that release an address are the ``why`` label of
    ``floatip_agent_releases_total``.
    """

    GONE = "deleted"  # the VirtualIP was deleted, or is being deleted
    ASSIGNED_HERE = "assigned-here"
    SPEC_CHANGED = "changed"  # spec.address changed under a held address
    ASSIGNED_ELSEWHERE = "elsewhere"  # nothing held here, nothing to do
    ASSIGNED_TO_NOBODY = "nobody"
    NEW_HOLDER_ANNOUNCED = "announced"  # make before break: the new holder is on the air
    FAILED_OVER = "failed-over"  # this node was judged dead: nothing to wait for
    HANDOVER_TIMEOUT = "did-not-announce"
    AWAITING_NEW_HOLDER = "awaiting-new-holder"
    AWAITING_GROUP = "awaiting-group"  # announced here, not yet every member of its group
    FENCED = "unsure"  # unsure of the API, and another MAC claimed the address


class Held(NamedTuple):
    """An address the agent holds for a VirtualIP, on which interface, at which epoch."""

    address: addressing.IPAddress
    ifname: str
    epoch: int


class Decision(NamedTuple):
    """What to do, why (a cause, and a phrase for logs), and when to decide again at the latest."""

    action: Action
    cause: Cause
    reason: str
    recheck_after: float | None = None


def decide(
    assignment: assignments.Assignment | None,
    *,
    node: str,
    held: Held | None,
    waiting_since: float | None,
    now: float,
    handover_timeout: float = HANDOVER_TIMEOUT,
    group_pending: str | None = None,
) -> Decision:
    """The next step for one VirtualIP.

    `waiting_since` is when the agent first saw the current move away from it (None if it has
    not yet waited for this epoch); `now` is on the same monotonic clock. `group_pending`: a
    member of its group this node holds that the new holder has not announced yet.
    """
    if assignment is None:
        if held is None:
            return Decision(Action.IDLE, Cause.GONE, "no such VirtualIP")
        return Decision(Action.RELEASE, Cause.GONE, "the VirtualIP was deleted")
    if assignment.deleting:
        action = Action.IDLE if held is None else Action.RELEASE
        return Decision(action, Cause.GONE, "the VirtualIP is being deleted")
    if assignment.holder == node:
        if held is None:
            return Decision(
                Action.TAKE, Cause.ASSIGNED_HERE, f"assigned here at epoch {assignment.epoch}"
            )
        if held.address != assignment.address:
            return Decision(
                Action.RELEASE,
                Cause.SPEC_CHANGED,
                f"spec.address changed from {held.address} to {assignment.address}",
            )
        return Decision(
            Action.KEEP, Cause.ASSIGNED_HERE, f"assigned here at epoch {assignment.epoch}"
        )
    if held is None:
        return Decision(
            Action.IDLE, Cause.ASSIGNED_ELSEWHERE, f"assigned to {assignment.holder or 'nobody'}"
        )
    if assignment.holder is None:
        return Decision(
            Action.RELEASE,
            Cause.ASSIGNED_TO_NOBODY,
            f"assigned to nobody at epoch {assignment.epoch}",
        )
    announced = (
        assignment.announced_epoch is not None and assignment.announced_epoch >= assignment.epoch
    )
    if announced and group_pending is None:
        return Decision(
            Action.RELEASE,
            Cause.NEW_HOLDER_ANNOUNCED,
            f"{assignment.holder} announced it at epoch {assignment.announced_epoch}",
        )
    if assignment.last_reason == model.MoveReason.FAILOVER:
        return Decision(Action.RELEASE, Cause.FAILED_OVER, f"failed over to {assignment.holder}")
    cause, waiting = Cause.AWAITING_NEW_HOLDER, f"waiting for {assignment.holder} to announce"
    if announced:
        cause = Cause.AWAITING_GROUP
        waiting += f" {group_pending} too (group {assignment.group} moves whole)"
    if waiting_since is None:
        return Decision(Action.WAIT, cause, waiting, handover_timeout)
    left = waiting_since + handover_timeout - now
    if left <= 0:
        return Decision(
            Action.RELEASE,
            Cause.HANDOVER_TIMEOUT,
            f"{assignment.holder} did not announce within {handover_timeout:g} s",
        )
    return Decision(Action.WAIT, cause, waiting, left)


def handed_over(assignment: assignments.Assignment) -> bool:
    """Whether nothing is left to wait for before a holder lets ``assignment``'s address go:
    its holder announced it at its epoch, it failed over (nobody hands over), or it is
    assigned to nobody."""
    return (
        assignment.holder is None
        or assignment.last_reason == model.MoveReason.FAILOVER
        or (
            assignment.announced_epoch is not None
            and assignment.announced_epoch >= assignment.epoch
        )
    )


def group_pending(
    assignment: assignments.Assignment,
    *,
    node: str,
    assigned: Mapping[str, assignments.Assignment],
    held: Iterable[str],
) -> str | None:
    """A member of ``assignment``'s group that this node holds (``held``: VirtualIP names) and
    that moves to another node whose agent has not announced it yet; None when there is none.

    A member moved by a Failover is not waited for (nothing hands over), nor one assigned here
    or to nobody (it is not handed to anyone).
    """
    group = assignment.group
    if group is None:
        return None
    for name in sorted(held):
        other = assigned.get(name)
        if name == assignment.name or other is None or other.group != group:
            continue
        if other.holder != node and not handed_over(other):
            return name
    return None


def probe_first(assignment: assignments.Assignment) -> bool:
    """Whether taking ``assignment``'s address begins with a probe (see the module docstring)."""
    return assignment.last_reason != model.MoveReason.FAILOVER


def same_take(taking: assignments.Assignment, news: assignments.Assignment | None) -> bool:
    """Whether ``news``, arriving while ``taking``'s address is being taken, asks for the very
    same take: the same object, address, interface, holder, epoch and reason, not deleted.

    A recorded move is taken on the move record's word; the operator's status write of the
    same move follows a few ms later and lands during the probe. It says nothing new for the
    take (only that the status caught up, which the next step reads), so the take goes on
    instead of probing again. Anything else (another epoch, holder or address, a deletion)
    stops the take and is decided afresh.
    """
    return news is not None and not news.deleting and (
        news.uid, news.address, news.interface, news.holder, news.epoch, news.last_reason
    ) == (
        taking.uid, taking.address, taking.interface, taking.holder, taking.epoch,
        taking.last_reason,
    )  # fmt: skip


class ClaimResponse(enum.StrEnum):
    IGNORE = "ignore"  # our own frame
    RELEASE = "release"  # unsure: whoever claims it may be the rightful holder now
    REREAD = "reread"  # a peer claims it: read the VirtualIP again and obey the newest epoch
    CONFLICT = "conflict"  # a foreign host claims it: report and re-assert, never move


def respond_to_claim(
    mac: str, *, own_macs: Collection[str], peer_macs: Collection[str], unsure: bool
) -> ClaimResponse:
    """What a claim by `mac` on an address this agent holds calls for."""
    mac = mac.lower()
    if mac in {m.lower() for m in own_macs}:
        return ClaimResponse.IGNORE
    if unsure:
        return ClaimResponse.RELEASE
    if mac in {m.lower() for m in peer_macs}:
        return ClaimResponse.REREAD
    return ClaimResponse.CONFLICT


class QuestionResponse(enum.StrEnum):
    IGNORE = "ignore"  # our own question, or a cluster peer's (never fight a peer)
    NOTE = "note"  # another host resolves a held address: the worker may defend it


def respond_to_question(
    mac: str, *, own_macs: Collection[str], peer_macs: Collection[str]
) -> QuestionResponse:
    """What a question by `mac` about an address this agent holds calls for."""
    mac = mac.lower()
    if mac in {m.lower() for m in own_macs} | {m.lower() for m in peer_macs}:
        return QuestionResponse.IGNORE
    return QuestionResponse.NOTE


class RestartPlan(NamedTuple):
    """What a restarted agent does with the owned addresses it finds in the kernel."""

    keep: dict[str, Held]  # VirtualIP name -> the address kept for it
    remove: list[tuple[str, addressing.IPAddress]]  # (ifname, address)


def restart_plan(
    owned: Mapping[str, Sequence[addressing.IPAddress]],
    current: Iterable[assignments.Assignment],
    *,
    node: str,
) -> RestartPlan:
    """Keep each owned address that a VirtualIP assigns to `node` now; remove the others.

    An address found on two interfaces is kept on the first (by name) and removed from the
    rest, so the node never answers for it twice.
    """
    mine = {a.address: a for a in current if a.holder == node}
    keep: dict[str, Held] = {}
    remove: list[tuple[str, addressing.IPAddress]] = []
    for ifname in sorted(owned):
        for address in owned[ifname]:
            assignment = mine.get(address)
            if assignment is None or assignment.name in keep:
                remove.append((ifname, address))
                continue
            if assignment.interface is not None and assignment.interface != ifname:
                remove.append((ifname, address))
                continue
            keep[assignment.name] = Held(address, ifname, assignment.epoch)
    return RestartPlan(keep, remove)


def new_holder_mac(assignment: assignments.Assignment | None, *, node: str) -> str | None:
    """The MAC of the node that announced this VirtualIP at its current epoch, if another did:
    a release after a planned move names it to the LAN (two frames), for neighbours that
    resolved this node's MAC during the overlap. None when no other node has announced the
    current epoch yet (naming a stale holder would send clients to the wrong host)."""
    if (
        assignment is None
        or assignment.holder in (None, node)
        or assignment.announced_mac is None
        or assignment.announced_epoch is None
        or assignment.announced_epoch < assignment.epoch
        or assignment.announced_node != assignment.holder
    ):
        return None
    return assignment.announced_mac

"""The move record: the operator's moves in one object, ahead of each VirtualIP's status.

docs/design/protocol.md "The move record". Failing over a node that holds 1,000 VirtualIPs
used to cost 1,000 status writes before the last successor could act (about 20 ms each); now
the leader writes every move a pass decides into one ConfigMap, ``floatip-moves`` in
floatip's namespace, first, and each VirtualIP's status follows behind with the same holder
and epoch. Every agent watches that ConfigMap: a move to its node is an assignment exactly as
if the status said it, so all successors take at once, one API write after the verdict.

The record is the operator's alone: agents may only read ConfigMaps (RBAC), so whatever it
says was written by an operator replica, and the leader writes it with the resourceVersion of
what it last read, so a replica that lost the leadership cannot add to it (its write gets a
409). A move names the VirtualIP's uid (one deleted and created again is another object) and
the epoch it moves at; it is obeyed only while it is newer than the status an agent has seen
(`floatip_agent.assignments.EpochBook`), so entries the statuses have caught up with mean
nothing and the leader prunes them at its next write.

Decoding never raises: a malformed entry is skipped, as a half-readable record must not hide
the rest (the statuses follow anyway).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

from floatip.api import model

CONFIGMAP: Final = "floatip-moves"
KEY: Final = "moves.json"
#: The record's ``leader`` field: the replica that wrote it last (for people reading it).
LEADER_KEY: Final = "leader"


class Move(NamedTuple):
    """VirtualIP ``name`` (``uid``) goes to ``holder`` (None: nobody) at ``epoch``.

    ``reason`` is a `floatip.api.model.MoveReason` value: the old holder of a ``Failover``
    removes the address at once, after any other move it waits for the new holder's
    announcement (make before break), exactly as when the status says it.
    """

    name: str
    uid: str
    holder: str | None
    epoch: int
    reason: str
    previous: str | None = None  # the holder it moves from, for the status's history
    time: str = ""  # when the leader decided it (RFC 3339), for the status's history


def encode(moves: Iterable[Move], *, leader: str) -> dict[str, str]:
    """The ConfigMap's ``data``: one JSON document, moves sorted by VirtualIP name."""
    entries = {
        move.name: {
            "uid": move.uid,
            "holder": move.holder,
            "epoch": move.epoch,
            "reason": move.reason,
            "from": move.previous,
            "time": move.time,
        }
        for move in sorted(moves, key=lambda m: m.name)
    }
    return {KEY: json.dumps({LEADER_KEY: leader, "moves": entries}, separators=(",", ":"))}


def decode(configmap: Mapping[str, Any] | None) -> dict[str, Move]:
    """The moves a ``floatip-moves`` ConfigMap holds, by VirtualIP name (malformed: skipped)."""
    data = (configmap or {}).get("data") or {}
    text = data.get(KEY) if isinstance(data, Mapping) else None
    try:
        document = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    entries = document.get("moves") if isinstance(document, Mapping) else None
    found: dict[str, Move] = {}
    for name, entry in (entries or {}).items() if isinstance(entries, Mapping) else ():
        move = _move(name, entry)
        if move is not None:
            found[move.name] = move
    return found


def _move(name: object, entry: object) -> Move | None:
    if not isinstance(name, str) or not name or not isinstance(entry, Mapping):
        return None
    uid, holder, epoch = entry.get("uid"), entry.get("holder"), entry.get("epoch")
    reason, previous, time = entry.get("reason"), entry.get("from"), entry.get("time")
    if not isinstance(uid, str) or not uid or reason not in _REASONS:
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        return None
    if holder is not None and (not isinstance(holder, str) or not holder):
        return None
    if previous is not None and not isinstance(previous, str):
        return None
    return Move(
        name, uid, holder, epoch, reason, previous or None, time if isinstance(time, str) else ""
    )


_REASONS: Final = frozenset(reason.value for reason in model.MoveReason)


def newer(move: Move | None, *, uid: str, epoch: int) -> bool:
    """Whether ``move`` is about this object (``uid``) and newer than its status's ``epoch``."""
    return move is not None and move.uid == uid and move.epoch > epoch


def is_failover(move: Move) -> bool:
    """Whether ``move`` is a ``Failover``: its old holder is gone and nothing hands over, so it
    goes into the record first and the statuses of a pass that has one wait for the successors.
    """
    return move.reason == model.MoveReason.FAILOVER


def body(
    namespace: str, data: Mapping[str, str], *, resource_version: str | None
) -> dict[str, Any]:
    """The whole ConfigMap, for a create (no resourceVersion) or a guarded replace."""
    metadata: dict[str, Any] = {
        "name": CONFIGMAP,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/part-of": "floatip"},
    }
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}

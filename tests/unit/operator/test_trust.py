"""Whether a status's holder and epoch are the operator's (pure): `floatip_operator.trust`.

Proves: statuses the operator builds (first assignment, moves, release, never assigned) pass
the history check; a forged holder, a forged epoch, both, and a history-less holder fail it
and name what the operator assigned and an epoch above every one seen; the book trusts this
replica's own writes (also when no answer came, and their stale echoes) and the previous
leader's consistent write in the handover window, but not a consistent-looking forgery of a
VirtualIP this replica has written or once the window is over; a refused write is forgotten;
a leadership change starts afresh; a VirtualIP created again has a new key; the managers
of status.holder/epoch come from the status subresource's managedFields; the restoration's
status is a ``Restored`` move at the new epoch and its Warning says what was found and put
back.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floatip.api import events, model
from floatip_operator import notices, placement, statuses, trust
from floatip_operator.trust import NEVER, Assignment, Basis, Finding

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"
KEY = ("web", "uid-1")


def _build(previous: dict[str, Any] | None, node: str | None, now: str = T1) -> dict[str, Any]:
    old = (previous or {}).get("holder")
    if node is None:
        decision = placement.Decision("web", None, old, placement.Reason.DUPLICATE_ADDRESS)
    elif node == old:
        decision = placement.Decision("web", node, old, placement.Reason.KEPT)
    else:
        decision = placement.Decision("web", node, old, placement.Reason.FAILOVER)
    return statuses.build(previous, statuses.Inputs(generation=1, now=now, decision=decision))


ASSIGNED = _build(None, "server1", T0)  # server1 at epoch 1


def _forge(state: dict[str, Any], **fields: Any) -> dict[str, Any]:
    forged = dict(state) | fields
    return {k: v for k, v in forged.items() if v is not None}


# -- the history check -----------------------------------------------------------------------


def test_statuses_the_operator_builds_pass_the_history_check() -> None:
    moved = _build(ASSIGNED, "server2")
    released = _build(moved, None, T2)
    kept = _build(moved, "server2", T2)
    for state in ({}, ASSIGNED, moved, released, kept):
        verdict = trust.judge_history(state)
        assert verdict.trusted, state
        assert verdict.assigned == verdict.found == trust.found(state)
    assert trust.found({}) == trust.recorded({}) == NEVER
    assert trust.found(released) == Assignment(None, 3) == trust.recorded(released)


@pytest.mark.parametrize(
    ("fields", "finding", "found"),
    [
        ({"holder": "server2"}, Finding.HOLDER, Assignment("server2", 1)),
        ({"epoch": 2}, Finding.EPOCH, Assignment("server1", 2)),
        ({"holder": "server2", "epoch": 2}, Finding.BOTH, Assignment("server2", 2)),
        ({"holder": None, "epoch": 2}, Finding.BOTH, Assignment(None, 2)),
    ],
)
def test_a_forged_holder_or_epoch_fails_the_history_check(
    fields: dict[str, Any], finding: Finding, found: Assignment
) -> None:
    verdict = trust.judge_history(_forge(ASSIGNED, **fields))
    assert not verdict.trusted
    assert (verdict.finding, verdict.found, verdict.assigned) == (
        finding,
        found,
        Assignment("server1", 1),
    )
    assert verdict.basis is Basis.HISTORY
    assert verdict.restore_epoch == max(found.epoch, 1) + 1


def test_a_holder_on_a_vip_that_never_moved_is_forged() -> None:
    """No history: the operator never assigned it; whatever holder or epoch is shown is forged."""
    verdict = trust.judge_history({"holder": "server2", "epoch": 7})
    assert (verdict.finding, verdict.assigned, verdict.restore_epoch) == (Finding.BOTH, NEVER, 8)
    assert trust.judge_history({"holder": "server2"}).finding is Finding.HOLDER
    assert trust.judge_history({"epoch": 3}).finding is Finding.EPOCH


def test_a_history_entry_with_a_higher_epoch_raises_the_restoration() -> None:
    odd = _forge(ASSIGNED, history=[*ASSIGNED["history"], {"time": T1, "reason": "x", "epoch": 9}])
    verdict = trust.judge_history(odd)
    assert verdict.finding is Finding.BOTH and verdict.restore_epoch == 10


@given(
    holder=st.sampled_from([None, "server1", "server2", "evil"]),
    epoch=st.integers(min_value=0, max_value=5),
)
def test_only_the_operators_own_pair_passes(holder: str | None, epoch: int) -> None:
    state = _forge(ASSIGNED, holder=holder, epoch=epoch)
    verdict = trust.judge_history(state)
    assert verdict.trusted is ((holder, epoch) == ("server1", 1))
    assert verdict.restore_epoch > max(epoch, 1)


# -- the book ---------------------------------------------------------------------------------


def _leader(now: float = 0.0) -> trust.Book:
    book = trust.Book(handover_s=60.0)
    book.reset(now=now)
    return book


def _write(book: trust.Book, previous: dict[str, Any], node: str | None) -> dict[str, Any]:
    """Play the reconciler: build, send, and record the write as landed."""
    new = _build(previous, node)
    bumped = trust.found(new).epoch > trust.found(previous).epoch
    book.sending(KEY, trust.found(new), term=book.term)
    book.wrote(KEY, trust.found(new), term=book.term, bumped=bumped)
    return new


def test_this_replicas_own_failover_and_release_are_trusted() -> None:
    book = _leader()
    assert book.judge(KEY, ASSIGNED, now=1).trusted
    moved = _write(book, ASSIGNED, "server2")
    assert book.judge(KEY, moved, now=100).trusted
    assert book.judge(KEY, ASSIGNED, now=100).trusted  # a stale echo of the earlier write
    released = _write(book, moved, None)
    assert book.judge(KEY, released, now=100).trusted


def test_a_write_without_an_answer_that_landed_is_trusted() -> None:
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    moved = _build(ASSIGNED, "server2")
    assert book.sending(KEY, trust.found(moved), term=book.term)  # then no answer
    assert book.judge(KEY, moved, now=100).trusted


def test_a_refused_write_is_forgotten() -> None:
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    moved = _build(ASSIGNED, "server2")
    assert book.sending(KEY, trust.found(moved), term=book.term)
    book.refused(KEY, trust.found(moved), term=book.term)
    _write(book, ASSIGNED, "server1")  # a conditions-only write keeps what it had
    assert not book.sending(KEY, Assignment("server1", 1), term=book.term)
    assert book.judge(KEY, ASSIGNED, now=100).trusted
    assert not book.judge(KEY, moved, now=100).trusted  # the write never landed


def test_the_previous_leaders_consistent_write_is_trusted_during_the_handover() -> None:
    """Its failover write was in flight when this replica took over, and landed late."""
    book = _leader(now=0.0)
    assert book.judge(KEY, ASSIGNED, now=1).trusted
    _write(book, ASSIGNED, "server1")  # conditions only: does not fence the old write out
    late = _build(ASSIGNED, "server2")
    assert book.judge(KEY, late, now=30).trusted
    assert book.judge(KEY, late, now=100).trusted  # and it stays the operator's


def test_a_consistent_looking_forgery_is_caught_by_the_book() -> None:
    """The forger also appends a matching history entry; the book knows what it wrote."""
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    moved = _write(book, ASSIGNED, "server2")  # server2 at epoch 2, fenced
    forged = _build(moved, "server3")  # history says server3 at epoch 3
    verdict = book.judge(KEY, forged, now=2)  # even within the handover window
    assert (verdict.finding, verdict.basis) == (Finding.BOTH, Basis.BOOK)
    assert verdict.assigned == Assignment("server2", 2) and verdict.restore_epoch == 4
    # seeded only, after the window: the same
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    assert not book.judge(KEY, _build(ASSIGNED, "server3"), now=61).trusted


def test_book_finds_holder_and_epoch_forgeries_like_history() -> None:
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    for fields, finding in (
        ({"holder": "server2"}, Finding.HOLDER),
        ({"epoch": 5}, Finding.EPOCH),
        ({"holder": "server2", "epoch": 2}, Finding.BOTH),
    ):
        verdict = book.judge(KEY, _forge(ASSIGNED, **fields), now=100)
        assert (verdict.finding, verdict.assigned) == (finding, Assignment("server1", 1))
    history_only = _forge(ASSIGNED, history=[])
    assert book.judge(KEY, history_only, now=100).finding is Finding.HISTORY


def _restored(forged: dict[str, Any], verdict: trust.Verdict) -> dict[str, Any]:
    """The status the operator writes to put server1 back (placement keeps it)."""
    return statuses.build(
        forged,
        statuses.Inputs(
            generation=1,
            now=T2,
            decision=placement.Decision("web", "server1", "server1", placement.Reason.KEPT),
            restore=verdict,
        ),
    )


def test_the_restoration_is_trusted_afterwards() -> None:
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    forged = _forge(ASSIGNED, holder="server2", epoch=2)
    verdict = book.judge(KEY, forged, now=100)
    restored = _restored(forged, verdict)
    assert (restored["holder"], restored["epoch"]) == ("server1", 3)
    assert restored["history"][-1] == {
        "time": T2,
        "from": "server2",
        "to": "server1",
        "reason": "Restored",
        "epoch": 3,
    }
    book.sending(KEY, trust.found(restored), term=book.term)
    book.wrote(KEY, trust.found(restored), term=book.term, bumped=True)
    assert book.judge(KEY, restored, now=101).trusted
    assert trust.judge_history(restored).trusted  # and after a restart too


def test_a_restoration_without_a_decision_puts_the_assigned_holder_back() -> None:
    verdict = trust.judge_history(_forge(ASSIGNED, holder="server2", epoch=2))
    restored = statuses.build(
        _forge(ASSIGNED, holder="server2", epoch=2),
        statuses.Inputs(generation=1, now=T2, decision=None, invalid="bad", restore=verdict),
    )
    assert (restored["holder"], restored["epoch"]) == ("server1", 3)


def test_a_leadership_change_starts_afresh_and_old_outcomes_are_ignored() -> None:
    book = _leader()
    book.judge(KEY, ASSIGNED, now=1)
    term = book.term
    moved = _build(ASSIGNED, "server2")
    book.sending(KEY, trust.found(moved), term=term)
    book.reset(now=10)  # lost and regained the lead: another replica may have written
    book.wrote(KEY, trust.found(moved), term=term, bumped=True)  # the old write's answer
    other = _build(ASSIGNED, "server3")  # the other leader's consistent move
    assert book.judge(KEY, other, now=11).trusted
    assert book.judge(("web", "uid-2"), {}, now=11).trusted  # created again: a new key
    book.keep_only([("web", "uid-2")])
    assert book.judge(KEY, {}, now=12).trusted  # forgotten: history decides again


def test_managers_of_holder_and_epoch_come_from_the_status_subresource() -> None:
    meta = {
        "managedFields": [
            {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}},
            {
                "manager": "floatip-operator",
                "operation": "Update",
                "subresource": "status",
                "fieldsV1": {"f:status": {"f:conditions": {}, "f:history": {}}},
            },
            {
                "manager": "evil",
                "operation": "Update",
                "subresource": "status",
                "fieldsV1": {"f:status": {"f:holder": {}, "f:epoch": {}}},
            },
            "junk",
        ]
    }
    assert trust.managers(meta) == ["evil"]
    assert trust.managers({}) == []


def test_the_warning_says_what_was_found_and_what_was_put_back() -> None:
    verdict = trust.judge_history(_forge(ASSIGNED, holder="server2", epoch=2))
    notice = notices.forged(verdict, Assignment("server1", 3), ["evil"])
    assert notice.type is events.Type.WARNING
    assert notice.reason is notices.Reason.FORGED_ASSIGNMENT and notice.move is None
    assert "server2 at epoch 2" in notice.note and "server1 at epoch 1" in notice.note
    assert "Put back: server1 at epoch 3" in notice.note and "evil" in notice.note
    assert "self-reported" in notice.note and "status.history" in notice.note
    elsewhere = notices.forged(verdict, Assignment("server3", 3))
    assert "server1 may not hold it now" in elsewhere.note and "manager" not in elsewhere.note
    never = notices.forged(trust.judge_history({"holder": "x", "epoch": 1}), Assignment(None, 2))
    assert "never assigned it" in never.note and "no holder at epoch 2" in never.note


def test_the_restoration_is_a_move_with_its_own_reason() -> None:
    """The moves metric and the move Event take the reason from `model.MoveReason`."""
    forged = _forge(ASSIGNED, holder="server2", epoch=2)
    restored = _restored(forged, trust.judge_history(forged))
    moves = [n for n in notices.notices(forged, restored) if n.move is not None]
    assert [n.move for n in moves] == [model.MoveReason.RESTORED]

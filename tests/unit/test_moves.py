"""The move record's contract (floatip.api.moves), which the operator writes and agents read.

Proves: what the leader encodes decodes to the same moves on the agents' side; a malformed
entry (no uid, an epoch that is not a positive integer, an unknown reason, a holder that is not
a name) is skipped without hiding the others, and a record that is not JSON reads as empty;
a move counts only for the same object (uid) and only while it is newer than its status;
only a ``Failover`` move is a failover (recorded first, and what a pass's statuses wait behind).
"""

from __future__ import annotations

import json

import pytest

from floatip.api import model, moves

FAILOVER = moves.Move("web", "u1", "server2", 4, "Failover", "server1", "2026-11-30T00:00:00Z")
RELEASE = moves.Move("db", "u2", None, 2, "Released", "server3", "2026-11-30T00:00:01Z")


def configmap(data: dict[str, str]) -> dict[str, object]:
    return moves.body("floatip", data, resource_version="7")


def test_what_the_leader_writes_the_agents_read() -> None:
    data = moves.encode([FAILOVER, RELEASE], leader="op-1")
    assert moves.decode(configmap(data)) == {"web": FAILOVER, "db": RELEASE}
    assert json.loads(data[moves.KEY])["leader"] == "op-1"
    assert configmap(data)["metadata"]["name"] == moves.CONFIGMAP  # type: ignore[index]


def test_malformed_entries_are_skipped_and_the_rest_kept() -> None:
    good = json.loads(moves.encode([FAILOVER], leader="op")[moves.KEY])["moves"]["web"]
    entries = {
        "web": good,
        "no-uid": good | {"uid": ""},
        "epoch-zero": good | {"epoch": 0},
        "epoch-text": good | {"epoch": "4"},
        "epoch-bool": good | {"epoch": True},
        "bad-reason": good | {"reason": "Whim"},
        "bad-holder": good | {"holder": 7},
        "empty-holder": good | {"holder": ""},
        "not-a-map": [1, 2],
    }
    text = json.dumps({"leader": "op", "moves": entries})
    assert list(moves.decode(configmap({moves.KEY: text}))) == ["web"]


def test_a_record_that_is_not_json_or_absent_reads_as_empty() -> None:
    assert moves.decode(configmap({moves.KEY: "{not json"})) == {}
    assert moves.decode(configmap({moves.KEY: '["a list"]'})) == {}
    assert moves.decode(configmap({})) == {}
    assert moves.decode(None) == {}


def test_a_move_counts_only_for_its_object_and_while_newer_than_the_status() -> None:
    assert moves.newer(FAILOVER, uid="u1", epoch=3)
    assert not moves.newer(FAILOVER, uid="u1", epoch=4)  # the status caught up
    assert not moves.newer(FAILOVER, uid="u1", epoch=5)
    assert not moves.newer(FAILOVER, uid="other", epoch=0)  # deleted and created again
    assert not moves.newer(None, uid="u1", epoch=0)


@pytest.mark.parametrize("reason", list(model.MoveReason))
def test_only_a_failover_move_is_a_failover(reason: model.MoveReason) -> None:
    move = FAILOVER._replace(reason=reason.value)
    assert moves.is_failover(move) is (reason is model.MoveReason.FAILOVER)

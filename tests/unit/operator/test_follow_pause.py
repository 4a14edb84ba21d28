"""How long a pass's statuses wait behind its recorded failover (recording.follow_pause).

Proves: no wait without a failover among the moves; the wait grows with the busiest
successor's takes (not with the total, which are taken in parallel on several nodes) and is
capped, so statuses converge within seconds whatever the count.
"""

from __future__ import annotations

from floatip.api import moves
from floatip_operator import recording


def move(name: str, holder: str, reason: str = "Failover") -> moves.Move:
    return moves.Move(name, f"u-{name}", holder, 2, reason, "server1", "2026-11-30T00:00:00Z")


def test_no_failover_no_wait() -> None:
    assert recording.follow_pause([]) == 0.0
    assert recording.follow_pause([move("a", "server2", "Pinned")]) == 0.0


def test_the_busiest_successor_sets_the_wait() -> None:
    one = recording.follow_pause([move("a", "server2")])
    assert one == recording.FOLLOW_S + recording.FOLLOW_PER_TAKE_S
    spread = [move(f"v{i}", f"server{2 + i % 2}") for i in range(1000)]  # 500 each
    assert recording.follow_pause(spread) == (
        recording.FOLLOW_S + 500 * recording.FOLLOW_PER_TAKE_S
    )
    planned = [move(f"p{i}", "server2", "Pinned") for i in range(400)]
    assert recording.follow_pause(spread + planned) == recording.follow_pause(spread)


def test_the_wait_is_capped() -> None:
    many = [move(f"v{i}", "server2") for i in range(100_000)]
    assert recording.follow_pause(many) == recording.FOLLOW_MAX_S

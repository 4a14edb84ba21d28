"""``floatip lab demo``, the README's main job, runs the seed's story and cleans up after itself.

Proves: the demo exits 0 with every summary line ok (power-loss failover to server2, a planned
switchover that loses not one request, the
intruder's Conflict with the VIP kept), and leaves no namespace and no state behind.
"""

from __future__ import annotations

import pytest

from .conftest import Lab


@pytest.mark.kernel
def test_demo_tells_the_whole_story_and_removes_the_lab(lab: Lab) -> None:
    done = lab.run("demo", timeout=180)
    summary = done.stdout[done.stdout.index("==> 6/6 summary") :]
    lines = [line.split() for line in summary.splitlines()[1:5]]
    assert [words[0] for words in lines] == ["ok"] * 4, summary
    assert "server1 power loss -> server2 answers" in summary
    assert "planned switchover back to server1" in summary
    assert "Conflict raised, VIP kept on server1" in summary
    assert lab.namespaces() == []

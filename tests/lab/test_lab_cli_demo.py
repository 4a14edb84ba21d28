"""``floatip lab demo``, the README's main job, runs the seed's story and cleans up after itself.

Proves: the demo exits 0 with every summary line ok (power-loss failover to server2, a planned
switchover that loses not one request, the intruder's Conflict with the VIP kept, a
LoadBalancer Service given an address from a VirtualIPPool and answered through it, and with
the holder's web Pod not ready the answers coming from the other pod while the address stays,
and a Local Service following its pod: with its holder's pod stopped the operator moves the
address to the other node, an ``EndpointsMoved`` move, and the client is answered there),
shows the real ``kubectl get svc`` with that address as EXTERNAL-IP and the real ``kubectl get
vip`` naming the Local Service's new holder, and leaves no namespace and no state behind.
"""

from __future__ import annotations

import re

import pytest

from .conftest import Lab


@pytest.mark.kernel
def test_demo_tells_the_whole_story_and_removes_the_lab(lab: Lab) -> None:
    done = lab.run("demo", timeout=240)
    summary = done.stdout[done.stdout.index("==> 7/7 summary") :]
    lines = [line.split() for line in summary.splitlines()[1:8]]
    assert [words[0] for words in lines] == ["ok"] * 7, summary
    assert "server1 power loss -> server2 answers" in summary
    assert "planned switchover back to server1" in summary
    assert "Conflict raised, VIP kept on server1" in summary
    assert "Service web gets an EXTERNAL-IP" in summary
    assert re.search(r"pod on server\d not ready +answers keep coming from server\d", summary)
    [address] = re.findall(r"EXTERNAL-IP +(\d+\.\d+\.\d+\.\d+), held by", summary)
    chapter = done.stdout[done.stdout.index("==> 6/7") : done.stdout.index("==> 7/7")]
    assert re.search(r"NAME +TYPE +CLUSTER-IP +EXTERNAL-IP", chapter), chapter
    assert re.search(rf"web +LoadBalancer +\S+ +{re.escape(address)} ", chapter), chapter
    moved = re.search(
        r"Local Service follows its pod +(server\d) -> (server\d) \(EndpointsMoved\), "
        r"answered by (server\d)",
        summary,
    )
    assert moved, summary
    old, new, answering = moved.groups()
    assert old != new == answering, summary
    assert re.search(rf"svc-default\.web-local-v4 +\S+ +{new} +True ", chapter), chapter
    assert re.search(rf"the client asks again: ({new}, ){{3}}{new} \(the address moved", chapter)
    assert lab.namespaces() == []

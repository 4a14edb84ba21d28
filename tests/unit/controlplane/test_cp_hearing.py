"""What a control-plane node hears (floatip_agent.controlplane.hearing), pure. Proves: a beat of
this cluster updates that peer and the highest term; another cluster's is counted and never
recorded; garbage and a wrong key are rejected; our own looped-back beat is ignored, and a
duplicate name is remembered once per sender; a holder's reported failure is remembered
from its first report until it holds healthy again or lets go; silent peers drop out of
`live` but their MACs stay known.
"""

from __future__ import annotations

from floatip_agent.controlplane import heartbeat
from floatip_agent.controlplane.hearing import Heard, Hearing

MAC = "02:00:00:00:00:01"


def beat(node: str = "cp2", *, cluster: str = "c", healthy: bool | None = True,
         holding: bool = False, term: int = 0, mac: str = "02:00:00:00:00:02") -> bytes:  # fmt: skip
    return heartbeat.encode(heartbeat.Beat(cluster, node, healthy, holding, term, True, False, mac))


def hearing() -> Hearing:
    return Hearing(cluster_id="c", node="cp1", mac=MAC, key=None)


def test_peers_foreign_rejected_and_self() -> None:
    heard = hearing()
    assert heard.hear(beat(term=4), "192.0.2.12", now=1.0) is Heard.PEER
    assert heard.known_term == 4 and heard.peers["cp2"][1] == 1.0
    assert heard.hear(beat("x9", cluster="other", term=99), "192.0.2.99", now=1.0) is Heard.FOREIGN
    assert heard.foreign_clusters == {"other"} and heard.foreign_messages == 1
    assert "x9" not in heard.peers and heard.known_term == 4
    assert heard.hear(b"garbage", "192.0.2.7", now=1.0) is Heard.REJECTED
    signed = heartbeat.encode(
        heartbeat.Beat("c", "cp3", True, False, 0, True, False, MAC), key=b"k"
    )
    assert heard.hear(signed, "192.0.2.13", now=1.0) is Heard.REJECTED
    assert heard.hear(beat("cp1", mac=MAC), "192.0.2.11", now=1.0) is Heard.SELF
    assert not heard.duplicates
    for _ in range(2):
        assert heard.hear(beat("cp1"), "192.0.2.66", now=1.0) is Heard.SELF
    assert heard.duplicates == {"192.0.2.66"}


def test_failure_reported_since_the_first_report() -> None:
    heard = hearing()
    assert heard.failure_reported() == float("-inf")
    heard.hear(beat(holding=True, healthy=False), "a", now=2.0)
    heard.hear(beat(holding=True, healthy=False), "a", now=2.1)
    assert heard.failure_reported() == 2.0
    heard.hear(beat(holding=True, healthy=True), "a", now=2.2)
    assert heard.failure_reported() == float("-inf")
    heard.hear(beat(holding=True, healthy=False), "a", now=3.0)
    heard.hear(beat(holding=False, healthy=False), "a", now=3.1)
    assert not heard.failed_since


def test_live_and_macs() -> None:
    heard = hearing()
    heard.hear(beat("cp2"), "a", now=1.0)
    heard.hear(beat("cp3", mac="02:00:00:00:00:03"), "b", now=1.3)
    assert [b.node for b in heard.live(now=1.5, dead_after=0.35)] == ["cp3"]
    assert heard.macs() == {"02:00:00:00:00:02", "02:00:00:00:00:03"}

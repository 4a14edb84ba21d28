"""The control-plane election (floatip_agent.controlplane.election), pure. Proves:

- bootstrap: nobody claims before its start-up window passed or while its apiserver is not
  ready; then the first healthy, eligible node in name order claims, with a term above any
  seen; a lone first node claims alone (kubeadm init);
- no preemption: a healthy (or not yet checked) holder keeps the VIP, whoever is earlier;
- holder unhealthy: the first healthy peer claims (make-before-break), and the old holder,
  seeing it, releases; a leaving holder is treated the same;
- confirm: a backup takes over from a live holder whose apiserver failed only once its own
  health is confirmed after that failure (a store-wide outage fails it too); a leaving
  holder or a dead one needs no confirmation;
- store down: nobody healthy, nobody claims, the holder keeps it;
- two holders: healthy beats unhealthy, then the higher term, then the earlier name; the
  loser releases and the winner keeps;
- ineligible nodes (no carrier, a foreign answer) neither claim nor block the next in order;
- simulated clusters (hypothesis): whatever the health of each node and whoever held, the
  rules settle on at most one holder, a healthy one whenever any node is healthy, and a
  holder is never dropped while nobody is healthy.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from floatip_agent.controlplane import election, heartbeat
from floatip_agent.controlplane.election import Action

MACS = {"cp1": "02:00:00:00:00:01", "cp2": "02:00:00:00:00:02", "cp3": "02:00:00:00:00:03"}


def me(node: str = "cp1", *, healthy: bool | None = True, holding: bool = False, term: int = 0,
       eligible: bool = True, ready: bool = True, leaving: bool = False,
       confirmed: bool = True) -> election.Me:  # fmt: skip
    return election.Me(node, healthy, holding, term, eligible, ready, leaving, confirmed)


def peer(node: str, *, healthy: bool | None = True, holding: bool = False, term: int = 0,
         eligible: bool = True, leaving: bool = False) -> heartbeat.Beat:  # fmt: skip
    return heartbeat.Beat("c", node, healthy, holding, term, eligible, leaving, MACS[node])


def test_bootstrap_waits_for_window_and_readiness() -> None:
    assert election.decide(me(ready=False), [], known_term=0).action is Action.WAIT
    assert election.decide(me(healthy=None), [], known_term=0).action is Action.WAIT
    assert election.decide(me(healthy=False), [], known_term=0).action is Action.WAIT


def test_lone_first_node_claims_above_every_seen_term() -> None:
    decision = election.decide(me(term=2), [], known_term=7)
    assert decision == election.Decision(Action.CLAIM, 8, "no good holder; first in order")


def test_first_in_order_among_healthy_claims_others_wait() -> None:
    peers = [peer("cp2"), peer("cp3")]
    assert election.decide(me("cp1"), peers, known_term=0).action is Action.CLAIM
    others = [peer("cp1"), peer("cp3")]
    decision = election.decide(me("cp2"), others, known_term=0)
    assert decision.action is Action.WAIT and "cp1 is first" in decision.reason


def test_unready_or_ineligible_earlier_nodes_do_not_block() -> None:
    for blocker in (peer("cp1", healthy=False), peer("cp1", healthy=None),
                    peer("cp1", eligible=False), peer("cp1", leaving=True)):  # fmt: skip
        assert election.decide(me("cp2"), [blocker], known_term=0).action is Action.CLAIM


def test_ineligible_node_never_claims() -> None:
    assert election.decide(me(eligible=False), [], known_term=0).action is Action.WAIT


def test_healthy_or_unknown_holder_is_never_preempted() -> None:
    for holder in (peer("cp3", holding=True, term=4), peer("cp3", holding=True, healthy=None)):
        decision = election.decide(me("cp1"), [holder, peer("cp2")], known_term=4)
        assert decision.action is Action.WAIT and decision.reason == "cp3 holds it"


def test_unhealthy_holder_is_replaced_by_first_healthy_peer() -> None:
    holder = peer("cp1", holding=True, healthy=False, term=3)
    assert election.decide(me("cp2"), [holder, peer("cp3")], known_term=3) == (
        election.Decision(Action.CLAIM, 4, "no good holder; first in order")
    )
    assert election.decide(me("cp3"), [holder, peer("cp2")], known_term=3).action is Action.WAIT


def test_taking_over_from_a_failed_holder_needs_confirmation() -> None:
    failed = peer("cp1", holding=True, healthy=False, term=3)
    decision = election.decide(me("cp2", confirmed=False), [failed], known_term=3)
    assert decision.action is Action.WAIT
    assert decision.reason == "confirming that cp1's failure is its own"
    assert election.decide(me("cp2"), [failed], known_term=3).action is Action.CLAIM
    leaving = peer("cp1", holding=True, leaving=True, term=3)
    assert election.decide(me("cp2", confirmed=False), [leaving], known_term=3).action is (
        Action.CLAIM
    )
    # a dead holder is no live peer: nothing to confirm against
    assert election.decide(me("cp2", confirmed=False), [], known_term=3).action is Action.CLAIM


def test_old_holder_releases_once_the_successor_holds() -> None:
    old = me("cp1", healthy=False, holding=True, term=3)
    assert election.decide(old, [peer("cp2")], known_term=3).action is Action.KEEP
    successor = peer("cp2", holding=True, term=4)
    assert election.decide(old, [successor], known_term=4).action is Action.RELEASE


def test_leaving_holder_is_replaced_then_releases() -> None:
    leaving = peer("cp1", holding=True, leaving=True, term=2)
    assert election.decide(me("cp2"), [leaving], known_term=2).action is Action.CLAIM
    old = me("cp1", holding=True, leaving=True, term=2)
    assert election.decide(old, [peer("cp2", holding=True, term=3)], known_term=3).action is (
        Action.RELEASE
    )
    assert election.decide(me("cp1", leaving=True), [], known_term=3).action is Action.WAIT


def test_store_down_holder_keeps_and_nobody_claims() -> None:
    holder = me("cp2", healthy=False, holding=True, term=5)
    others = [peer("cp1", healthy=False), peer("cp3", healthy=False)]
    assert election.decide(holder, others, known_term=5).action is Action.KEEP
    unhealthy_holder = peer("cp2", healthy=False, holding=True, term=5)
    for name in ("cp1", "cp3"):
        decision = election.decide(me(name, healthy=False), [unhealthy_holder], known_term=5)
        assert decision.action is Action.WAIT


def test_two_holders_healthy_wins_then_term_then_name() -> None:
    # healthy beats a higher term
    assert election.decide(
        me("cp1", healthy=False, holding=True, term=9), [peer("cp2", holding=True, term=1)],
        known_term=9,
    ).action is Action.RELEASE  # fmt: skip
    # then the higher term
    assert (
        election.decide(
            me("cp1", holding=True, term=3), [peer("cp2", holding=True, term=4)], known_term=4
        ).action
        is Action.RELEASE
    )
    assert (
        election.decide(
            me("cp2", holding=True, term=4), [peer("cp1", holding=True, term=3)], known_term=4
        ).action
        is Action.KEEP
    )
    # then the earlier name
    assert (
        election.decide(
            me("cp2", holding=True, term=4), [peer("cp1", holding=True, term=4)], known_term=4
        ).action
        is Action.RELEASE
    )
    assert (
        election.decide(
            me("cp1", holding=True, term=4), [peer("cp2", holding=True, term=4)], known_term=4
        ).action
        is Action.KEEP
    )


def test_rank_orders_names_as_strings() -> None:
    def at(name: str) -> election.Rank:
        return election.rank(name, healthy=True, term=1, leaving=False)

    assert at("a") > at("ab") > at("b")
    assert at("cp10") > at("cp9")  # plain string order, as sorted() gives
    assert election.rank("z", healthy=True, term=1, leaving=False) > election.rank(
        "a", healthy=True, term=1, leaving=True
    )


def test_own_beat_among_peers_is_ignored() -> None:
    echo = peer("cp1", holding=True, term=1)
    assert election.decide(me("cp1"), [echo], known_term=1).action is Action.CLAIM


def test_live_drops_silent_peers() -> None:
    beats = {"cp2": (peer("cp2"), 10.0), "cp3": (peer("cp3"), 9.5)}
    assert [b.node for b in election.live(beats, now=10.2, dead_after=0.35)] == ["cp2"]


NODES = ["cp1", "cp2", "cp3"]


def _settle(health: dict[str, bool | None], holding: dict[str, int]) -> dict[str, int]:
    """Every node applies the rules to the others' state until nothing changes; returns the
    holders and their terms. Nodes act in turn (a round-robin), as beats interleave."""
    holders = dict(holding)
    known = max(holders.values(), default=0)
    for _ in range(10):
        changed = False
        for name in NODES:
            peers = [
                heartbeat.Beat("c", other, health[other], other in holders,
                               holders.get(other, 0), True, False, MACS[other])
                for other in NODES if other != name
            ]  # fmt: skip
            mine = me(name, healthy=health[name], holding=name in holders,
                      term=holders.get(name, 0))  # fmt: skip
            decision = election.decide(mine, peers, known_term=known)
            if decision.action is Action.CLAIM:
                holders[name] = decision.term
                known = max(known, decision.term)
                changed = True
            elif decision.action is Action.RELEASE:
                del holders[name]
                changed = True
        if not changed:
            return holders
    raise AssertionError(f"no fixpoint: {holders}")


health_values = st.sampled_from([True, False, None])


@given(
    health=st.fixed_dictionaries({name: health_values for name in NODES}),
    holding=st.dictionaries(st.sampled_from(NODES), st.integers(0, 5), max_size=3),
)
def test_simulated_cluster_settles_on_one_good_holder(
    health: dict[str, bool | None], holding: dict[str, int]
) -> None:
    holders = _settle(health, holding)
    assert len(holders) <= 1, holders
    anyone_healthy = any(value is True for value in health.values())
    if anyone_healthy:
        assert len(holders) == 1
        (holder,) = holders
        assert health[holder] is not False, (health, holding, holders)
    if holding and not anyone_healthy:
        assert holders, (health, holding)  # the store is down: the VIP is kept
    for name, term in holding.items():  # a healthy holder alone is never moved
        if len(holding) == 1 and health[name] is not False:
            assert holders == {name: term}

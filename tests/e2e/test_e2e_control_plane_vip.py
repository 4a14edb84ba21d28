"""The control-plane VIP (issue 17, item 4), end to end, as an HTTPS client of /readyz sees it.

One lab for the module: two control-plane clusters of three hosts on one LAN (`floatip lab up
--control-plane 3 --second-cluster`), each host with a stand-in kube-apiserver on :6443 and
floatip-control-plane-agent. The client asks ``https://VIP:6443/readyz`` every 10 ms; the
host that answered is the one whose stand-in accepted the connection (`floatip_lab.cpclient`);
holders are the kernel's (which host's eth0 carries the VIP).

Proves:
- bootstrap: with nothing running on the cluster, cp1's agent and then its apiserver started,
  the client is answered by cp1; once cp2 and cp3 run too, cp1 still holds the VIP (no
  preemption) and every agent is healthy;
- the holder's apiserver stopped, its power lost, frozen or its cable pulled: another host
  answers the client; after the fault is healed exactly one host holds the VIP;
- all three hosts cold-started at once: the VIP answers and settles on one holder (no
  deadlock);
- the store down (the lab API server down for 4 s: every /readyz fails): the VIP never moves
  in either cluster and the holder answers again once the store is back;
- two clusters on the LAN, same heartbeat port: each cluster's holder losing its apiserver
  moves nothing in the other, neither VIP is ever seen on the other cluster's hosts, the
  other's agents count no conflict, and they did hear (and ignore) the other cluster.

Timings are the benchmark's (`floatip bench control-plane`); this judges behaviour only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floatip_lab import cpnodes, cpscenarios, lifecycle, state
from tests.e2e.conftest import say


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cpscenarios.ControlPlaneLab]:
    if cpnodes.agent_argv() is None:
        pytest.fail("floatip-control-plane-agent (floatip_agent.controlplane) is not installed")
    place = state.locate({state.STATE_DIR_ENV: str(tmp_path_factory.mktemp("cp") / "lab")})
    try:
        lifecycle.up(
            place, nodes=1, ipv6=False, say=say, with_floatip=False, control_plane=3,
            second_cluster=True,
        )  # fmt: skip
        yield cpscenarios.ControlPlaneLab(place, say)
    finally:
        lifecycle.down(place, say=say)


def test_bootstrap_answers_from_the_first_node_and_keeps_it(
    cp: cpscenarios.ControlPlaneLab,
) -> None:
    cluster = cp.cluster(0)
    start = cp.bootstrap(cluster)
    assert start.answered_by == "cp1", cp.explain()
    assert start.holder == "cp1", f"a later node took the VIP over: {start}\n{cp.explain()}"


@pytest.mark.parametrize("fault", ["stop-apiserver", "kill-node", "freeze-node", "cut-data"])
def test_holder_fault_moves_the_vip_to_a_healthy_node(
    cp: cpscenarios.ControlPlaneLab, fault: str
) -> None:
    cluster = cp.cluster(0)
    moved = cp.failover(cluster, fault)
    assert moved.answered_by in set(cluster.hosts) - {moved.old_holder}, moved
    cp.settle(cluster)  # healed: one holder, every agent healthy again


def test_cold_start_of_every_node_at_once_brings_the_vip_back(
    cp: cpscenarios.ControlPlaneLab,
) -> None:
    cluster = cp.cluster(0)
    start = cp.cold_start(cluster)
    assert start.answered_by in cluster.hosts, start
    assert start.holder in cluster.hosts, start


def test_store_down_moves_nothing(cp: cpscenarios.ControlPlaneLab) -> None:
    quiet = cp.store_down(4.0)
    step = max(1, len(quiet.samples) // 10)
    seen = "\n".join(str(dict(sorted(s.items()))) for s in quiet.samples[::step])
    assert quiet.samples, "the sampler never looked"
    assert quiet.moves == 0, f"holders changed {quiet.moves} times; looks:\n{seen}\n{cp.explain()}"
    assert quiet.details["looks_off_holder"] == 0, f"{quiet.details}\n{seen}"


def test_two_clusters_on_one_lan_do_not_interfere(cp: cpscenarios.ControlPlaneLab) -> None:
    both = cp.two_clusters()
    assert both.moves == 0, f"{both.details}\n{cp.explain()}"
    assert both.details["foreign_messages"] > 0, f"the clusters never heard each other: {both}"

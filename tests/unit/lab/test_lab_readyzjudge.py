"""Who answered the control-plane VIP: the client's requests joined with the stand-ins' accepts
by port and time; the first answer from another host; holder changes; the clusters' plan."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floatip_lab import commands, cpnodes, readyzjudge
from floatip_lab.readyzjudge import Accept, Probe


def probe(start: float, port: int, ok: bool = True) -> Probe:
    return Probe(start, start + 0.01, ok, 200 if ok else 0, port, "ok" if ok else "TimeoutError")


def test_an_answer_is_named_by_the_host_that_accepted_its_port_at_that_time() -> None:
    probes = [probe(1.0, 40000), probe(2.0, 40001), probe(3.0, 40000), probe(4.0, 40002, ok=False)]
    accepts = [
        Accept(1.001, "cp1", 40000),
        Accept(2.002, "cp1", 40001),
        Accept(3.003, "cp2", 40000),  # the port reused later: the later host answered then
        Accept(4.001, "cp3", 40002),  # accepted but never answered: the request failed
    ]
    requests = readyzjudge.attribute(probes, accepts)
    assert [(r.ok, r.answer) for r in requests] == [
        (True, "cp1"), (True, "cp1"), (True, "cp2"), (False, "TimeoutError"),
    ]  # fmt: skip


def test_an_answer_no_stand_in_accepted_is_nobodys() -> None:
    [request] = readyzjudge.attribute([probe(1.0, 40000)], [Accept(5.0, "cp1", 40000)])
    assert (request.ok, request.answer) == (True, "?")
    assert readyzjudge.first_answer([request], 0.0) is None


def test_first_answer_skips_earlier_requests_and_excluded_hosts() -> None:
    requests = readyzjudge.attribute(
        [probe(1.0, 1), probe(2.0, 2), probe(2.5, 3, ok=False), probe(3.0, 4), probe(4.0, 5)],
        [Accept(1.0, "cp2", 1), Accept(2.0, "cp1", 2), Accept(3.0, "cp1", 4),
         Accept(4.0, "cp3", 5)],
    )  # fmt: skip
    found = readyzjudge.first_answer(requests, 1.5, excluding=["cp1"])
    assert found is not None
    assert (found.start, found.answer) == (4.0, "cp3")
    assert readyzjudge.first_answer(requests, 4.5) is None


def test_changes_counts_every_look_that_differs_from_the_one_before() -> None:
    a, b, both = frozenset({"cp1"}), frozenset({"cp2"}), frozenset({"cp1", "cp2"})
    assert readyzjudge.changes([a, a, a]) == 0
    assert readyzjudge.changes([a, both, b, b]) == 2
    assert readyzjudge.changes([]) == 0


@given(st.lists(st.sampled_from(["cp1", "cp2", "cp3"]), max_size=30))
def test_changes_is_zero_exactly_when_every_look_is_the_same(hosts: list[str]) -> None:
    looks = [frozenset({h}) for h in hosts]
    assert (readyzjudge.changes(looks) == 0) == (len(set(looks)) <= 1)


def test_plan_gives_each_cluster_its_hosts_vip_and_identity() -> None:
    network = ipaddress.IPv4Network("192.0.2.0/24")
    assert cpnodes.plan(0, False, network) == []
    one, two = cpnodes.plan(3, True, network)
    assert (one.cluster_id, one.vip, one.hosts) == (
        "lab-a",
        "192.0.2.245/24",
        ["cp1", "cp2", "cp3"],
    )
    assert (two.cluster_id, two.vip, two.hosts) == (
        "lab-b",
        "192.0.2.246/24",
        ["cpb1", "cpb2", "cpb3"],
    )
    with pytest.raises(commands.LabError, match="--second-cluster needs"):
        cpnodes.plan(0, True, network)
    with pytest.raises(commands.LabError, match="0 \\(none\\) to 5"):
        cpnodes.plan(6, False, network)

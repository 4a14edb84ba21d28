"""The real operator against a forged status (issue 14): it trusts only what it wrote.

Proves: a compromised node, patching ``virtualips/status`` with the agents' ServiceAccount
(its RBAC allows that, for ``announcement`` and ``conflict``), writes another holder at a
higher epoch; the operator puts its own holder back at an epoch above the forged one, records
a ``Restored`` move, posts a ``ForgedAssignment`` Warning Event naming what it found, what it
put back and the field manager the forger gave, and logs it once. The same when the forger
also appends a matching history entry (the book of the operator's own writes catches it).
A forgery made while no operator runs is caught at start by the history check.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver import rbac
from tests.operator import harness
from tests.operator.harness import ready

AGENT = rbac.User.service_account("floatip", "floatip-agent")
#: the agents' ClusterRole (charts/floatip): what a node's credentials allow on VirtualIPs
AGENT_RULES = [
    {"apiGroups": ["floatip.io"], "resources": ["virtualips"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["floatip.io"], "resources": ["virtualips/status"], "verbs": ["get", "patch"]},
]
MANAGER = "floatip-agent-server2"


async def _agent_credentials(cluster: harness.Cluster) -> str:
    """A token of the agents' ServiceAccount, bound to the agents' rules."""
    await cluster.call(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {"metadata": {"name": "floatip-agent"}, "rules": AGENT_RULES},
    )
    await cluster.call(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "floatip-agent"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "floatip-agent",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "floatip-agent", "namespace": "floatip"}
            ],
        },
    )
    return cluster.server.add_token(AGENT)


async def _forge(cluster: harness.Cluster, token: str, name: str, patch: dict[str, Any]) -> None:
    """Patch the status as a compromised node would: the agents' token, a merge patch."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"}
    url = f"{cluster.server.url}{harness.VIPS}/{name}/status?fieldManager={MANAGER}"
    async with cluster.session.patch(url, json={"status": patch}, headers=headers) as response:
        assert response.status == 200, await response.text()


async def _warnings(cluster: harness.Cluster, name: str) -> list[dict[str, Any]]:
    found = await cluster.call(
        "GET", f"/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D{name}"
    )
    return [e for e in found["items"] if e.get("reason") == "ForgedAssignment"]


def _restorations(op: harness.Operator) -> list[dict[str, Any]]:
    return [e for e in op.log_events() if e.get("event") == "forged assignment restored"]


@pytest.mark.parametrize("history", [False, True], ids=["holder-and-epoch", "with-history"])
async def test_a_forged_holder_is_put_back_at_a_higher_epoch_with_a_warning(
    cluster: harness.Cluster, history: bool
) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24", preferredNodes=["server1"])
    op = await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    assert (before["holder"], before["epoch"]) == ("server1", 1)
    token = await _agent_credentials(cluster)

    forgery: dict[str, Any] = {"holder": "server2", "epoch": 2}
    if history:  # a consistent-looking forgery: the history check alone would believe it
        move = {"time": harness.now(), "from": "server1", "to": "server2", "epoch": 2}
        forgery["history"] = [*before["history"], move | {"reason": "Failover"}]
    await _forge(cluster, token, "web", forgery)

    restored = await cluster.wait_status(
        "web", lambda s: s.get("holder") == "server1" and s["epoch"] > 2, "server1 put back"
    )
    assert restored["epoch"] == 3, restored
    last = restored["history"][-1]
    assert (last.get("from"), last.get("to"), last["reason"], last["epoch"]) == (
        "server2",
        "server1",
        "Restored",
        3,
    ), restored["history"]
    warnings = await harness.eventually(
        "a ForgedAssignment Warning", lambda: _warnings(cluster, "web"), describe=cluster.describe()
    )
    assert len(warnings) == 1 and warnings[0]["type"] == "Warning", warnings
    note = warnings[0]["message"]
    assert "server2 at epoch 2" in note and "Put back: server1 at epoch 3" in note, note
    assert MANAGER in note and "self-reported" in note, note
    assert "own record" in note, note  # this replica wrote epoch 1: its book knew
    [logged] = _restorations(op)
    assert (logged["found_holder"], logged["found_epoch"]) == ("server2", 2), logged
    assert (logged["holder"], logged["epoch"], logged["writers"]) == ("server1", 3, [MANAGER])

    # server1's agent takes it back at the new epoch: Ready, and nothing more moves
    await cluster.announce("web", node="server1", epoch=3)
    final = await cluster.wait_status("web", ready, "Ready after the restoration")
    assert (final["holder"], final["epoch"]) == ("server1", 3), final
    assert len(_restorations(op)) == 1
    assert len(await _warnings(cluster, "web")) == 1


async def test_a_forgery_made_while_no_operator_ran_is_put_back_at_start(
    cluster: harness.Cluster,
) -> None:
    """No book survives a restart: the history check catches the inconsistent forgery."""
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24", preferredNodes=["server1"])
    first = await cluster.run_operator("op-a")
    await cluster.placed_and_announced("web")
    await first.stop()
    token = await _agent_credentials(cluster)
    await _forge(cluster, token, "web", {"holder": "server2", "epoch": 5})

    second = await cluster.run_operator("op-b")
    restored = await cluster.wait_status(
        "web", lambda s: s.get("holder") == "server1" and s["epoch"] > 5, "server1 put back"
    )
    assert restored["epoch"] == 6 and restored["history"][-1]["reason"] == "Restored"

    async def logged_once() -> list[dict[str, Any]]:  # logged once the write's answer is back
        return _restorations(second)

    [logged] = await harness.eventually(
        "the restoration logged", logged_once, describe=cluster.describe("web")
    )
    assert (logged["basis"], logged["finding"]) == ("history", "holder-and-epoch"), logged
    warnings = await harness.eventually(
        "a ForgedAssignment Warning", lambda: _warnings(cluster, "web"), describe=cluster.describe()
    )
    assert "per status.history" in warnings[0]["message"], warnings

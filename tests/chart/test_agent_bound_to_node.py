"""The chart's admission policies, enforced: an agent writes only what its own node reports.

Proves, against the test API server (which evaluates ValidatingAdmissionPolicies as
kube-apiserver 1.30+ does) with the chart's RBAC and policies applied exactly as the lab
applies them, and each agent authenticating with a token bound to its own Pod on its own
node (user extra ``authentication.kubernetes.io/node-name``): every forged write of issue 14
is refused with 403 and changes nothing (holder and epoch, another node's announcement or
conflict report, the operator's leader Lease, another agent's Lease, and any write with a
token that names no node), while each legitimate write of the agents and the operator passes.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip.api import names
from floatip_apiserver.rbac import User
from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver
from floatip_lab import admission, agentpods, rbac
from tests.apiserver.conftest import Client, http

__all__ = ["apiserver", "http"]

NS = rbac.NAMESPACE
VIP = f"/apis/{names.API_VERSION}/virtualips"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
MERGE = "application/merge-patch+json"
LEADER_LEASE = "floatip-operator"  # floatip_operator.leadership.LEASE_NAME


async def created(http: Client, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    code, answer = await http.call("POST", path, body, **kw)
    assert code == 201, (path, answer)
    return answer


async def token_for(http: Client, account: str, pod: dict[str, Any] | None = None) -> str:
    """A TokenRequest as the kubelet (bound to the Pod) or a user (unbound) sends it."""
    body = agentpods.build_token_request(pod) if pod else {"spec": {"audiences": []}}
    answer = await created(http, f"/api/v1/namespaces/{NS}/serviceaccounts/{account}/token", body)
    token: str = answer["status"]["token"]
    return token


class Cluster:
    """The chart's objects, two nodes with their agents' Pods, and the tokens of each side."""

    def __init__(self, server: RunningServer, http: Client) -> None:
        self.server = server
        self.http = http
        self.tokens: dict[str, str] = {}

    async def build(self) -> None:
        http = self.http
        await created(http, "/api/v1/namespaces", {"metadata": {"name": NS}})
        for obj in rbac.build_objects(rbac.load_rules()) + admission.build_objects(
            admission.policy_file().read_text()
        ):
            await created(http, _collection(obj), obj)
        for node in ("server1", "server2"):
            await created(http, "/api/v1/nodes", {"metadata": {"name": node}})
            pod = await created(http, f"/api/v1/namespaces/{NS}/pods", agentpods.build_pod(node))
            self.tokens[node] = await token_for(http, rbac.ACCOUNTS["agent"], pod)
        self.tokens["operator"] = await token_for(http, rbac.ACCOUNTS["operator"])
        self.tokens["nodeless-agent"] = await token_for(http, rbac.ACCOUNTS["agent"])
        # a token with no user extras at all (a legacy Secret-based token authenticates so)
        self.tokens["operator-no-extras"] = self.server.add_token(
            User.service_account(NS, rbac.ACCOUNTS["operator"])
        )
        # The operator's side: a VirtualIP assigned to server1 at epoch 1, its leader Lease.
        await created(http, VIP, {"metadata": {"name": "web"}, "spec": {"address": "192.0.2.10"}})
        move = {"time": "2026-01-01T00:00:00Z", "to": "server1", "reason": "Placed", "epoch": 1}
        assert await self.status("operator", {"holder": "server1", "epoch": 1, "history": [move]})
        lease = {"metadata": {"name": LEADER_LEASE}, "spec": {"holderIdentity": "operator-1"}}
        await created(http, LEASES, lease, token=self.tokens["operator"])

    async def status(self, who: str, status: dict[str, Any]) -> tuple[int, str]:
        """Merge-patch the VirtualIP's status as ``who``: (HTTP code, message)."""
        code, answer = await self.http.call(
            "PATCH", f"{VIP}/web/status", {"status": status},
            token=self.tokens[who], content_type=MERGE,
        )  # fmt: skip
        return code, str(answer.get("message", ""))

    async def lease(self, who: str, name: str, holder: str) -> tuple[int, str]:
        """Create or merge-patch Lease ``name`` as ``who``."""
        code, answer = await self.http.call(
            "PATCH", f"{LEASES}/{name}", {"spec": {"holderIdentity": holder}},
            token=self.tokens[who], content_type=MERGE,
        )  # fmt: skip
        if code == 404:
            body = {"metadata": {"name": name}, "spec": {"holderIdentity": holder}}
            code, answer = await self.http.call("POST", LEASES, body, token=self.tokens[who])
        return code, str(answer.get("message", ""))

    async def vip_status(self) -> dict[str, Any]:
        code, vip = await self.http.call("GET", f"{VIP}/web")
        assert code == 200, vip
        status: dict[str, Any] = vip["status"]
        return status


def _collection(obj: dict[str, Any]) -> str:
    if obj["kind"].startswith("ValidatingAdmissionPolicy"):
        return admission.collection(obj)
    return rbac.collection(obj)


def announcement(node: str, epoch: int = 1, mac: str = "02:00:00:00:00:01") -> dict[str, Any]:
    return {"node": node, "epoch": epoch, "mac": mac, "time": "2026-01-01T00:00:01Z"}


def conflict(node: str) -> dict[str, Any]:
    return {
        "node": node, "mac": "02:66:00:00:00:01", "since": "2026-01-01T00:00:02Z",
        "lastSeen": "2026-01-01T00:00:02Z", "count": 1, "reasserted": 1,
    }  # fmt: skip


@pytest.fixture
async def cluster(apiserver: RunningServer, http: Client) -> Cluster:
    built = Cluster(apiserver, http)
    await built.build()
    return built


async def test_the_holders_agent_writes_its_own_announcement_and_conflict(
    cluster: Cluster,
) -> None:
    assert (await cluster.status("server1", {"announcement": announcement("server1")}))[0] == 200
    assert (await cluster.status("server1", {"conflict": conflict("server1")}))[0] == 200
    assert (await cluster.status("server1", {"conflict": None}))[0] == 200
    status = await cluster.vip_status()
    assert status["announcement"]["node"] == "server1" and "conflict" not in status


@pytest.mark.parametrize(
    ("forged", "says"),
    [
        ({"holder": "server2", "epoch": 2}, "may not change status.holder"),
        ({"epoch": 2}, "may not change status.holder"),
        ({"conditions": []}, "may not change status.holder"),
        ({"history": []}, "may not change status.holder"),
        ({"announcement": announcement("server2")}, "status.announcement only for itself"),
        (
            {"announcement": announcement("server1", mac="02:00:00:00:00:02")},
            "status.announcement only for itself",
        ),
        ({"announcement": None}, "may not remove another node's status.announcement"),
        ({"conflict": conflict("server2")}, "status.conflict only for itself"),
        ({"conflict": None}, "may not remove another node's status.conflict"),
    ],
    ids=[
        "holder-and-epoch", "epoch", "conditions", "history", "own-announcement-not-holding",
        "announcement-in-the-holders-name", "remove-the-holders-announcement",
        "own-conflict-not-holding", "remove-the-holders-conflict",
    ],
)  # fmt: skip
async def test_a_node_that_does_not_hold_the_vip_cannot_change_its_status(
    cluster: Cluster, forged: dict[str, Any], says: str
) -> None:
    assert (await cluster.status("server1", {"announcement": announcement("server1")}))[0] == 200
    assert (await cluster.status("server1", {"conflict": conflict("server1")}))[0] == 200
    before = await cluster.vip_status()
    code, message = await cluster.status("server2", forged)
    assert code == 403, message
    assert "ValidatingAdmissionPolicy 'floatip-agent-status'" in message, message
    assert says in message and "the agent on server2" in message, message
    assert await cluster.vip_status() == before


async def test_the_holder_cannot_claim_an_epoch_it_was_not_given(cluster: Cluster) -> None:
    code, message = await cluster.status("server1", {"announcement": announcement("server1", 2)})
    assert code == 403 and "at an epoch it was given" in message, message


async def test_only_the_operator_writes_its_leader_lease(cluster: Cluster) -> None:
    for agent in ("server1", "server2"):
        code, message = await cluster.lease(agent, LEADER_LEASE, "evil")
        assert code == 403, message
        assert "only the operator's ServiceAccount" in message, message
    assert (await cluster.lease("operator", LEADER_LEASE, "operator-2"))[0] == 200
    # the policies read the node from the user's extras; a user without any is not an error
    assert (await cluster.lease("operator-no-extras", LEADER_LEASE, "operator-1"))[0] == 200


async def test_an_agent_writes_its_own_lease_and_no_other(cluster: Cluster) -> None:
    own = f"{names.AGENT_LEASE_PREFIX}server2"
    assert (await cluster.lease("server2", own, "server2"))[0] == 201  # created
    assert (await cluster.lease("server2", own, "server2"))[0] == 200  # renewed
    assert (await cluster.lease("server1", f"{names.AGENT_LEASE_PREFIX}server1", "server1"))[
        0
    ] == 201
    code, message = await cluster.lease("server2", f"{names.AGENT_LEASE_PREFIX}server1", "evil")
    assert code == 403, message
    assert "may write only its own Lease floatip-agent-server2" in message, message
    code, message = await cluster.lease("server2", f"{names.AGENT_LEASE_PREFIX}server3", "x")
    assert code == 403, message  # not even a Lease no node has yet


async def test_an_agent_token_that_names_no_node_writes_nothing(cluster: Cluster) -> None:
    code, message = await cluster.status("nodeless-agent", {"conflict": None})
    assert code == 403 and "names no node" in message, message
    code, message = await cluster.lease(
        "nodeless-agent", f"{names.AGENT_LEASE_PREFIX}server1", "server1"
    )
    assert code == 403 and "names no node" in message, message

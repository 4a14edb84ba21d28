"""ServiceAccount tokens from the TokenRequest subresource, as ``kubectl create token`` gets them.

Proves: POST ``serviceaccounts/NAME/token`` answers a TokenRequest with ``status.token`` and
``expirationTimestamp`` (default 1 h, at least 10 minutes; 404 for an unknown account); the
token is a JWT naming the account; it authenticates as ``system:serviceaccount:NS:NAME``
against the server's RBAC (the real kubectl uses it); it stops working when the account is
deleted (even if one of the same name comes back), when the Pod it is bound to goes, or when
it expires; minting one needs ``create`` on ``serviceaccounts/token``; discovery lists the
subresource as kubectl expects. A token bound to a Pod on a node names the node, carries the
pod/node/credential-id extras (ServiceAccountTokenPodNodeInfo), is refused for another
account's Pod, and lasts a year when kubelet's 3607 s is asked.
"""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
from typing import Any

import pytest

from floatip_apiserver import kubeconfig
from floatip_apiserver.kinds import serviceaccounts
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

ACCOUNTS = "/api/v1/namespaces/default/serviceaccounts"
# what kubectl create token sends (in protobuf; this is the same object in JSON)
REQUEST = {
    "kind": "TokenRequest",
    "apiVersion": "authentication.k8s.io/v1",
    "metadata": {"creationTimestamp": None},
    "spec": {"audiences": None, "expirationSeconds": None, "boundObjectRef": None},
    "status": {"token": "", "expirationTimestamp": None},
}


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def mint(http: Any, name: str, **spec: Any) -> str:
    body = dict(REQUEST, spec={**REQUEST["spec"], **spec})
    code, answer = await http.call("POST", f"{ACCOUNTS}/{name}/token", body)
    assert code == 201, answer
    return str(answer["status"]["token"])


async def test_token_request_answers_a_token_for_the_service_account(http: Any) -> None:
    code, account = await http.call("POST", ACCOUNTS, {"metadata": {"name": "robot"}})
    assert code == 201
    before = datetime.datetime.now(datetime.UTC)
    code, answer = await http.call("POST", f"{ACCOUNTS}/robot/token", REQUEST)
    assert code == 201, answer
    assert answer["kind"] == "TokenRequest" and answer["apiVersion"] == "authentication.k8s.io/v1"
    assert answer["spec"]["expirationSeconds"] == 3600
    assert answer["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    expires = datetime.datetime.fromisoformat(answer["status"]["expirationTimestamp"])
    assert 3590 <= (expires - before).total_seconds() <= 3610
    seen = claims(answer["status"]["token"])
    assert seen["sub"] == "system:serviceaccount:default:robot"
    assert seen["kubernetes.io"]["serviceaccount"] == {
        "name": "robot",
        "uid": account["metadata"]["uid"],
    }

    code, answer = await http.call("POST", f"{ACCOUNTS}/nobody/token", REQUEST)
    assert code == 404 and answer["message"] == 'serviceaccounts "nobody" not found'
    short = dict(REQUEST, spec={"expirationSeconds": 60})
    code, answer = await http.call("POST", f"{ACCOUNTS}/robot/token", short)
    assert code == 422
    assert (
        "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
        in answer["message"]
    )
    code, _ = await http.call("GET", f"{ACCOUNTS}/robot/token")
    assert code == 405

    _, listing = await http.call("GET", "/api/v1")
    by_name = {r["name"]: r for r in listing["resources"]}
    token = by_name["serviceaccounts/token"]
    assert (token["group"], token["version"], token["kind"]) == (
        "authentication.k8s.io",
        "v1",
        "TokenRequest",
    )
    assert token["verbs"] == ["create"]


async def test_the_token_authenticates_as_the_account_under_rbac(
    apiserver: RunningServer, http: Any, tmp_path: pathlib.Path
) -> None:
    await http.call("POST", ACCOUNTS, {"metadata": {"name": "robot"}})
    token = await mint(http, "robot")
    config = kubeconfig.write(
        tmp_path / "robot.kubeconfig",
        kubeconfig.build(apiserver.url, token, "robot", apiserver.ca_pem),
    )

    async def as_robot(*args: str) -> tuple[int, str]:
        return await kubectl(apiserver, "--kubeconfig", str(config), *args)

    code, out = await as_robot("get", "pods")
    assert code == 1
    assert 'User "system:serviceaccount:default:robot" cannot list resource "pods"' in out
    role = {
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    }
    binding = {
        "metadata": {"name": "robot-reads-pods"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}],
    }
    rbac_path = "/apis/rbac.authorization.k8s.io/v1/namespaces/default"
    assert (await http.call("POST", f"{rbac_path}/roles", role))[0] == 201
    assert (await http.call("POST", f"{rbac_path}/rolebindings", binding))[0] == 201
    code, out = await as_robot("get", "pods")
    assert code == 0 and "No resources found" in out, out
    code, out = await as_robot("get", "configmaps")
    assert code == 1 and "forbidden" in out

    # minting a token is itself authorized: create on serviceaccounts/token
    code, answer = await http.call("POST", f"{ACCOUNTS}/robot/token", REQUEST, token=token)
    assert code == 403, answer

    # deleting the account ends the token, even if an account of that name comes back
    assert (await http.call("DELETE", f"{ACCOUNTS}/robot"))[0] == 200
    await http.call("POST", ACCOUNTS, {"metadata": {"name": "robot"}})
    code, out = await as_robot("get", "pods")
    assert code == 1 and "Unauthorized" in out, out


async def test_a_bound_token_ends_with_its_pod_and_every_token_with_its_time(http: Any) -> None:
    await http.call("POST", ACCOUNTS, {"metadata": {"name": "robot"}})
    pod = {
        "metadata": {"name": "worker"},
        "spec": {
            "serviceAccountName": "robot",
            "containers": [{"name": "a", "image": "busybox:1.36"}],
        },
    }
    code, created = await http.call("POST", "/api/v1/namespaces/default/pods", pod)
    assert code == 201
    bound = {"kind": "Pod", "apiVersion": "v1", "name": "worker", "uid": created["metadata"]["uid"]}
    token = await mint(http, "robot", boundObjectRef=bound)
    assert claims(token)["kubernetes.io"]["pod"] == {
        "name": "worker",
        "uid": created["metadata"]["uid"],
    }
    code, _ = await http.call("GET", "/api/v1/namespaces/default/pods", token=token)
    assert code == 403  # authenticated (no RBAC grant), not 401
    await http.call("DELETE", "/api/v1/namespaces/default/pods/worker")
    code, _ = await http.call("GET", "/api/v1/namespaces/default/pods", token=token)
    assert code == 401

    body = dict(REQUEST, spec={"boundObjectRef": bound})
    code, answer = await http.call("POST", f"{ACCOUNTS}/robot/token", body)
    assert code == 404 and answer["message"] == 'pods "worker" not found'
    await http.call("POST", "/api/v1/namespaces/default/pods", pod)  # the same name, a new uid
    code, answer = await http.call("POST", f"{ACCOUNTS}/robot/token", body)
    assert code == 409 and "does not match the UID in record" in answer["message"]
    assert not await _accepted_after_expiry(http)


async def _accepted_after_expiry(http: Any) -> bool:
    tokens: serviceaccounts.Tokens = http.server.api.objects.kinds.tokens
    token = await mint(http, "robot", expirationSeconds=600)
    assert tokens.authenticate(token) is not None
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=601)

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:  # type: ignore[override]
            return cls.fromtimestamp(later.timestamp(), tz)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serviceaccounts.datetime, "datetime", Clock)
        return tokens.authenticate(token) is not None


async def _agent_pod(http: Any, node: str) -> dict[str, Any]:
    """ServiceAccount ``agent`` and Pod ``agent-x`` of it, scheduled on ``node``."""
    await http.call("POST", ACCOUNTS, {"metadata": {"name": "agent"}})
    pod = {
        "metadata": {"name": "agent-x"},
        "spec": {
            "nodeName": node,
            "serviceAccountName": "agent",
            "containers": [{"name": "agent", "image": "floatip:dev"}],
        },
    }
    code, created = await http.call("POST", "/api/v1/namespaces/default/pods", pod)
    assert code == 201, created
    return dict(created)


async def test_a_pod_bound_token_names_the_node_and_authenticates_with_its_extras(
    http: Any,
) -> None:
    code, node = await http.call("POST", "/api/v1/nodes", {"metadata": {"name": "server1"}})
    assert code == 201, node
    pod = await _agent_pod(http, "server1")
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "agent-x", "uid": pod["metadata"]["uid"]}
    before = datetime.datetime.now(datetime.UTC)
    body = dict(REQUEST, spec={"boundObjectRef": ref, "expirationSeconds": 3607})
    code, answer = await http.call("POST", f"{ACCOUNTS}/agent/token", body)
    assert code == 201, answer
    token = answer["status"]["token"]
    private = claims(token)["kubernetes.io"]
    assert private["pod"] == {"name": "agent-x", "uid": pod["metadata"]["uid"]}
    assert private["node"] == {"name": "server1", "uid": node["metadata"]["uid"]}
    # kubelet's 3607 s: the answer says 3607 s, the token warns then and fails after a year
    expires = datetime.datetime.fromisoformat(answer["status"]["expirationTimestamp"])
    assert 3597 <= (expires - before).total_seconds() <= 3617
    assert private["warnafter"] == int(expires.timestamp())
    assert claims(token)["exp"] - claims(token)["iat"] == 365 * 24 * 3600

    tokens: serviceaccounts.Tokens = http.server.api.objects.kinds.tokens
    user = tokens.authenticate(token)
    assert user is not None and user.uid  # the ServiceAccount's uid
    assert user.extra == {
        "authentication.kubernetes.io/pod-name": ("agent-x",),
        "authentication.kubernetes.io/pod-uid": (pod["metadata"]["uid"],),
        "authentication.kubernetes.io/credential-id": (f"JTI={claims(token)['jti']}",),
        "authentication.kubernetes.io/node-name": ("server1",),
        "authentication.kubernetes.io/node-uid": (node["metadata"]["uid"],),
    }
    # any other length is signed as asked
    short = await mint(http, "agent", boundObjectRef=ref, expirationSeconds=600)
    assert claims(short)["exp"] - claims(short)["iat"] == 600
    assert "warnafter" not in claims(short)["kubernetes.io"]


async def test_a_pod_on_a_node_not_registered_gives_the_node_name_without_uid(http: Any) -> None:
    pod = await _agent_pod(http, "server9")
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "agent-x", "uid": pod["metadata"]["uid"]}
    token = await mint(http, "agent", boundObjectRef=ref)
    assert claims(token)["kubernetes.io"]["node"] == {"name": "server9"}
    user = http.server.api.objects.kinds.tokens.authenticate(token)
    assert user.extra["authentication.kubernetes.io/node-name"] == ("server9",)
    assert "authentication.kubernetes.io/node-uid" not in user.extra


async def test_a_token_cannot_be_bound_to_a_pod_of_another_service_account(http: Any) -> None:
    pod = await _agent_pod(http, "server1")
    await http.call("POST", ACCOUNTS, {"metadata": {"name": "robot"}})
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "agent-x", "uid": pod["metadata"]["uid"]}
    body = dict(REQUEST, spec={"boundObjectRef": ref})
    code, answer = await http.call("POST", f"{ACCOUNTS}/robot/token", body)
    assert (code, answer["reason"]) == (400, "BadRequest")
    assert answer["message"] == (
        'cannot bind token for serviceaccount "robot" to pod running with different '
        "serviceaccount name."
    )


async def test_kubeconfig_for_pod_at_authenticates_as_kubelets_token_until_the_pod_goes(
    apiserver: RunningServer, http: Any, tmp_path: pathlib.Path
) -> None:
    await _agent_pod(http, "server1")
    config = apiserver.kubeconfig_for_pod_at("default", "agent-x", tmp_path / "agent.kubeconfig")
    code, out = await kubectl(
        apiserver, "--kubeconfig", str(config), "auth", "whoami", "-o", "json"
    )
    assert code == 0, out
    info = json.loads(out)["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:default:agent"
    assert info["extra"]["authentication.kubernetes.io/node-name"] == ["server1"]
    assert info["extra"]["authentication.kubernetes.io/pod-name"] == ["agent-x"]
    await http.call("DELETE", "/api/v1/namespaces/default/pods/agent-x")
    code, out = await kubectl(apiserver, "--kubeconfig", str(config), "auth", "whoami")
    assert code == 1 and "Unauthorized" in out, out

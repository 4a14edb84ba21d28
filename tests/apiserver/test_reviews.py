"""Access reviews and impersonation, as ``kubectl auth can-i`` and ``whoami`` use the real server.

Proves: ``kubectl auth whoami`` shows the user and groups (admin and ServiceAccount);
``kubectl auth can-i VERB RESOURCE -n NS`` answers yes/no (exit 0/1) per the stored RBAC, for a
ServiceAccount asking about itself and for an admin asking ``--as`` someone else; ``--list``
shows the rules that apply; non-resource URLs are answered by the bootstrap policy
(``system:discovery``); impersonating needs the ``impersonate`` verb (403 otherwise); a
SubjectAccessReview answers for any user and names the granting binding, needs permission to
create, and is 422 without a question; discovery lists the reviews with the one verb, create.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver import rbac
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.kubectl_cli import run

pytestmark = pytest.mark.kubectl

RBAC = "/apis/rbac.authorization.k8s.io/v1"
SA = "system:serviceaccount:default:robot"


async def _grant(
    http: Any, kind: str, name: str, rules: list[dict[str, Any]], subject: dict[str, str]
) -> None:
    """A (Cluster)Role with ``rules`` and a binding of it to one subject."""
    scope = f"{RBAC}/namespaces/default" if kind == "Role" else RBAC
    plural = "roles" if kind == "Role" else "clusterroles"
    binding = "rolebindings" if kind == "Role" else "clusterrolebindings"
    code, body = await http.call(
        "POST", f"{scope}/{plural}", {"metadata": {"name": name}, "rules": rules}
    )
    assert code == 201, body
    code, body = await http.call(
        "POST",
        f"{scope}/{binding}",
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [subject],
        },
    )
    assert code == 201, body


BOB = {"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}
LEASE_READER = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list"]}
]


async def test_kubectl_auth_whoami_shows_user_and_groups(apiserver: RunningServer) -> None:
    code, out = await run(apiserver.kubeconfig, "auth", "whoami")
    assert code == 0, out
    assert "floatip-admin" in out and "[system:masters system:authenticated]" in out
    robot = apiserver.kubeconfig_for_service_account("default", "robot")
    code, out = await run(robot, "auth", "whoami", "-o", "jsonpath={.status.userInfo}")
    assert code == 0, out
    assert SA in out and "system:serviceaccounts:default" in out and "system:authenticated" in out


async def test_kubectl_auth_whoami_shows_the_pod_and_node_extras_of_a_pod_bound_token(
    apiserver: RunningServer, http: Any
) -> None:
    await http.call("POST", "/api/v1/nodes", {"metadata": {"name": "server1"}})
    await http.call(
        "POST", "/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "agent"}}
    )
    pod = {
        "metadata": {"name": "agent-x"},
        "spec": {
            "nodeName": "server1",
            "serviceAccountName": "agent",
            "containers": [{"name": "agent", "image": "floatip:dev"}],
        },
    }
    code, created = await http.call("POST", "/api/v1/namespaces/default/pods", pod)
    assert code == 201, created
    config = apiserver.kubeconfig_for_pod_at(
        "default", "agent-x", apiserver.workdir / "agent.kubeconfig"
    )
    code, out = await run(config, "auth", "whoami")
    assert code == 0, out
    rows = {line.split("   ")[0].strip(): line.split()[-1] for line in out.splitlines()[1:]}
    assert rows["Username"] == "system:serviceaccount:default:agent"
    assert rows["Extra: authentication.kubernetes.io/node-name"] == "[server1]"
    assert rows["Extra: authentication.kubernetes.io/pod-name"] == "[agent-x]"
    assert rows["Extra: authentication.kubernetes.io/pod-uid"] == f"[{created['metadata']['uid']}]"
    assert rows["Extra: authentication.kubernetes.io/credential-id"].startswith("[JTI=")
    assert "Extra: authentication.kubernetes.io/node-uid" in rows


async def test_kubectl_auth_can_i_answers_per_rbac_for_a_service_account(
    apiserver: RunningServer, http: Any
) -> None:
    await _grant(
        http,
        "Role",
        "lease-reader",
        LEASE_READER,
        {"kind": "ServiceAccount", "name": "robot", "namespace": "default"},
    )
    robot = apiserver.kubeconfig_for_service_account("default", "robot")
    assert await run(robot, "auth", "can-i", "list", "leases", "-n", "default") == (0, "yes\n")
    assert await run(robot, "auth", "can-i", "delete", "leases", "-n", "default") == (1, "no\n")
    assert await run(robot, "auth", "can-i", "get", "leases", "-n", "kube-system") == (1, "no\n")
    assert await run(robot, "auth", "can-i", "get", "/healthz") == (0, "yes\n")  # bootstrap policy
    assert await run(robot, "auth", "can-i", "get", "/metrics") == (1, "no\n")
    code, out = await run(robot, "auth", "can-i", "--list", "-n", "default")
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()]
    assert ["leases.coordination.k8s.io", "[]", "[]", "[get", "list]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows


async def test_kubectl_auth_can_i_as_another_user_impersonates_them(
    apiserver: RunningServer, http: Any
) -> None:
    await _grant(http, "ClusterRole", "bob-leases", LEASE_READER, BOB)
    admin = apiserver.kubeconfig
    assert await run(admin, "auth", "can-i", "list", "leases", "-A", "--as", "bob") == (0, "yes\n")
    assert await run(
        admin, "auth", "can-i", "create", "leases", "-n", "default", "--as", "bob"
    ) == (1, "no\n")
    assert await run(
        admin,
        "auth",
        "can-i",
        "create",
        "leases",
        "-n",
        "default",
        "--as",
        "carol",
        "--as-group",
        "system:masters",
    ) == (0, "yes\n")
    robot = apiserver.kubeconfig_for_service_account("default", "robot")
    code, out = await run(robot, "auth", "can-i", "list", "leases", "--as", "bob")
    assert code == 1
    assert f'users "bob" is forbidden: User "{SA}" cannot impersonate resource "users"' in out


async def test_subject_access_review_answers_for_any_user_and_names_the_binding(
    apiserver: RunningServer, http: Any
) -> None:
    await _grant(http, "ClusterRole", "bob-leases", LEASE_READER, BOB)
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "bob",
            "resourceAttributes": {
                "verb": "list",
                "group": "coordination.k8s.io",
                "resource": "leases",
                "namespace": "default",
            },
        },
    }
    code, answer = await http.call(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert code == 201, answer
    assert answer["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by ClusterRoleBinding "bob-leases" of ClusterRole "bob-leases" to User "bob"',
    }
    review["spec"]["resourceAttributes"]["verb"] = "delete"
    _, answer = await http.call(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert answer["status"] == {"allowed": False}
    del review["spec"]["resourceAttributes"]
    code, status = await http.call(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert (code, status["reason"]) == (422, "Invalid")
    assert "exactly one of nonResourceAttributes or resourceAttributes" in status["message"]
    robot = apiserver.add_token(rbac.User.service_account("default", "robot"))
    code, status = await http.call(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review, token=robot
    )
    assert (code, status["reason"]) == (403, "Forbidden")  # only self-reviews are for everyone


async def test_discovery_lists_the_reviews_with_the_create_verb_only(http: Any) -> None:
    _, listing = await http.call("GET", "/apis/authorization.k8s.io/v1")
    verbs = {r["name"]: r["verbs"] for r in listing["resources"]}
    assert verbs["selfsubjectaccessreviews"] == ["create"]
    assert verbs["subjectaccessreviews"] == ["create"]
    code, _ = await http.call("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
    assert code == 405


async def test_impersonated_uid_and_extras_are_the_users_as_whoami_shows(http: Any) -> None:
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    headers = {
        "Impersonate-User": "system:serviceaccount:default:agent",
        "Impersonate-Uid": "1234",
        "Impersonate-Extra-authentication.kubernetes.io%2fnode-name": "server1",
    }
    code, answer = await http.call(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review, headers=headers
    )
    assert code == 201, answer
    assert answer["status"]["userInfo"] == {
        "username": "system:serviceaccount:default:agent",
        "uid": "1234",
        "groups": [
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated",
        ],
        "extra": {"authentication.kubernetes.io/node-name": ["server1"]},
    }

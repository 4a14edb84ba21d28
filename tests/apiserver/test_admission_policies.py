"""ValidatingAdmissionPolicies and their Bindings, as kube-apiserver 1.30+ enforces them.

Proves: the kinds are served, defaulted (failurePolicy Fail, matchPolicy Equivalent, scope
``*``) and validated (a CEL expression that does not compile is a 422 naming its field, the
binding's validationActions are required, supported and unique); kubectl apply denied by a
policy prints the real message with the validation's reason as the code; Warn gives kubectl's
``Warning:`` line; matchConditions on the user and a binding's namespaceSelector narrow what is
judged; params come from a ConfigMap (parameterNotFoundAction Deny/Allow); variables; an
expression error follows failurePolicy Fail or Ignore; a ``virtualips/status`` rule matches
status patches but not spec patches; DELETE sees oldObject and a null object; the policy kinds
themselves are exempt; and a node's agent, authenticated by its pod-bound token, may write its
own Node's Lease only, until its Pod is deleted.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from floatip_apiserver import rbac
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.kubectl_cli import run

pytestmark = pytest.mark.kubectl

ADM = "/apis/admissionregistration.k8s.io/v1"
VIPS = "/apis/floatip.io/v1alpha1/virtualips"
CMS = "/api/v1/namespaces/default/configmaps"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
ALL_CONFIGMAPS = {
    "apiGroups": [""],
    "apiVersions": ["v1"],
    "operations": ["CREATE", "UPDATE"],
    "resources": ["configmaps"],
}


def policy(name: str, validations: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    spec.setdefault("matchConstraints", {"resourceRules": [ALL_CONFIGMAPS]})
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {"validations": validations, **spec},
    }


def binding(name: str, policy_name: str, actions: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": policy_name, "validationActions": actions, **spec},
    }


async def install(http: Any, *objects: dict[str, Any]) -> None:
    for obj in objects:
        plural = (
            "validatingadmissionpolicies"
            if obj["kind"] == "ValidatingAdmissionPolicy"
            else "validatingadmissionpolicybindings"
        )
        code, answer = await http.call("POST", f"{ADM}/{plural}", obj)
        assert code == 201, answer


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


async def test_policies_are_served_defaulted_and_validated_like_the_real_registry(
    apiserver: RunningServer, http: Any
) -> None:
    _, listing = await http.call("GET", ADM)
    names = {r["name"] for r in listing["resources"]}
    assert {"validatingadmissionpolicies", "validatingadmissionpolicybindings"} <= names
    await install(
        http,
        policy("small", [{"expression": "size(object.data) <= 2"}]),
        binding("small", "small", ["Deny"]),
    )
    _, stored = await http.call("GET", f"{ADM}/validatingadmissionpolicies/small")
    assert stored["spec"]["failurePolicy"] == "Fail"
    match = stored["spec"]["matchConstraints"]
    assert match["matchPolicy"] == "Equivalent"
    assert match["namespaceSelector"] == {} and match["objectSelector"] == {}
    assert match["resourceRules"][0]["scope"] == "*"

    bad = policy("bad", [{"expression": "object.data.size( <= 2"}])
    code, answer = await http.call("POST", f"{ADM}/validatingadmissionpolicies", bad)
    assert (code, answer["reason"]) == (422, "Invalid"), answer
    assert answer["message"].startswith(
        'ValidatingAdmissionPolicy.admissionregistration.k8s.io "bad" is invalid: '
        'spec.validations[0].expression: Invalid value: "object.data.size( <= 2": '
        "compilation failed"
    )
    code, answer = await http.call("POST", f"{ADM}/validatingadmissionpolicies", policy("none", []))
    assert code == 422
    assert (
        "spec.validations: Required value: validations or auditAnnotations must contain"
        in (answer["message"])
    )
    for actions, detail in (
        ([], "spec.validationActions: Required value: at least one validation action is required"),
        (["Deny", "Deny"], 'spec.validationActions[1]: Duplicate value: "Deny"'),
        (["Block"], 'spec.validationActions[0]: Unsupported value: "Block": supported values: '),
        (["Deny", "Warn"], "must not contain both Deny and Warn"),
    ):
        code, answer = await http.call(
            "POST", f"{ADM}/validatingadmissionpolicybindings", binding("b", "small", actions)
        )
        assert code == 422 and detail in answer["message"], answer

    code, out = await run(apiserver.kubeconfig, "get", "validatingadmissionpolicies")
    assert code == 0, out
    assert out.split("\n")[0].split() == ["NAME", "VALIDATIONS", "PARAMKIND", "AGE"]
    assert out.split("\n")[1].split()[:3] == ["small", "1", "<unset>"]
    code, out = await run(apiserver.kubeconfig, "get", "validatingadmissionpolicybindings")
    assert code == 0, out
    assert out.split("\n")[0].split() == ["NAME", "POLICYNAME", "PARAMREF", "AGE"]


async def test_kubectl_apply_denied_by_a_policy_prints_the_real_message(
    apiserver: RunningServer, http: Any
) -> None:
    await install(
        http,
        policy(
            "small",
            [
                {"expression": "size(object.data) <= 2", "reason": "Forbidden"},
                {
                    "expression": "!('secret' in object.data)",
                    "messageExpression": "'no secret in ' + object.metadata.name",
                },
                {"expression": "object.metadata.name != 'plain'"},
            ],
        ),
        binding("small-everywhere", "small", ["Deny"]),
    )
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {data}\n"
    code, out = await run(
        apiserver.kubeconfig,
        "apply",
        "-f",
        "-",
        stdin=manifest.format(name="big", data='{"a": "1", "b": "2", "c": "3"}'),
    )
    assert code == 1
    assert (
        "configmaps \"big\" is forbidden: ValidatingAdmissionPolicy 'small' with binding "
        "'small-everywhere' denied request: failed expression: size(object.data) <= 2" in out
    ), out
    code, answer = await http.call("POST", CMS, configmap("big", a="1", b="2", c="3"))
    assert (code, answer["reason"]) == (403, "Forbidden")
    assert answer["details"]["causes"] == [
        {
            "message": "ValidatingAdmissionPolicy 'small' with binding 'small-everywhere' "
            "denied request: failed expression: size(object.data) <= 2"
        }
    ]
    code, answer = await http.call("POST", CMS, configmap("leak", secret="x"))
    assert (code, answer["reason"]) == (422, "Invalid")  # the default reason
    assert answer["message"].endswith("denied request: no secret in leak")
    code, answer = await http.call("POST", CMS, configmap("plain"))
    assert answer["message"].endswith(
        "denied request: failed expression: object.metadata.name != 'plain'"
    )
    code, _ = await http.call("POST", CMS, configmap("fine", a="1"))
    assert code == 201
    # every PATCH is an UPDATE, judged on the patched object
    code, answer = await http.call(
        "PATCH",
        f"{CMS}/fine",
        {"data": {"b": "2", "c": "3"}},
        content_type="application/merge-patch+json",
    )
    assert code == 403, answer
    # dry runs are judged too
    code, _ = await http.call("POST", f"{CMS}?dryRun=All", configmap("big", a="1", b="2", c="3"))
    assert code == 403


async def test_warn_action_gives_kubectls_warning_line_and_the_write_goes_through(
    apiserver: RunningServer, http: Any
) -> None:
    await install(
        http,
        policy("small", [{"expression": "size(object.data) <= 1", "message": "keep it small"}]),
        binding("small-warn", "small", ["Warn", "Audit"]),
    )
    code, out = await run(
        apiserver.kubeconfig,
        "create",
        "configmap",
        "big",
        "--from-literal=a=1",
        "--from-literal=b=2",
    )
    assert code == 0, out
    assert (
        "Warning: Validation failed for ValidatingAdmissionPolicy 'small' with binding "
        "'small-warn': keep it small" in out
    ), out
    assert "configmap/big created" in out


async def test_match_conditions_on_the_user_and_a_binding_namespace_selector_narrow_it(
    apiserver: RunningServer, http: Any
) -> None:
    await http.call(
        "POST", "/api/v1/namespaces", {"metadata": {"name": "prod", "labels": {"env": "prod"}}}
    )
    await install(
        http,
        policy(
            "no-data",
            [{"expression": "!has(object.data)"}],
            matchConditions=[
                {
                    "name": "not-the-admin",
                    "expression": "request.userInfo.username != 'floatip-admin'",
                }
            ],
        ),
        binding(
            "no-data-in-prod",
            "no-data",
            ["Deny"],
            matchResources={"namespaceSelector": {"matchLabels": {"env": "prod"}}},
        ),
    )
    robot = apiserver.add_token(rbac.User("robot", (rbac.MASTERS,)))
    prod = "/api/v1/namespaces/prod/configmaps"
    code, _ = await http.call("POST", prod, configmap("a", x="1"))
    assert code == 201  # the admin is not matched
    code, answer = await http.call("POST", prod, configmap("b", x="1"), token=robot)
    assert code == 422, answer
    code, _ = await http.call("POST", CMS, configmap("c", x="1"), token=robot)
    assert code == 201  # default is not a prod namespace


async def test_params_come_from_a_configmap_and_parameter_not_found_follows_the_binding(
    http: Any,
) -> None:
    await http.call("POST", CMS, configmap("limits", maxKeys="1"))
    await install(
        http,
        policy(
            "limited",
            [
                {
                    "expression": "size(object.data) <= int(params.data.maxKeys)",
                    "messageExpression": "'at most ' + params.data.maxKeys + ' keys'",
                }
            ],
            paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
            matchConstraints={
                "resourceRules": [ALL_CONFIGMAPS],
                "objectSelector": {"matchLabels": {"limited": "yes"}},
            },
            variables=[
                {"name": "keys", "expression": "size(object.data)"},
                {"name": "many", "expression": "variables.keys > 1"},
            ],
        ),
        binding(
            "limited",
            "limited",
            ["Deny"],
            paramRef={"name": "limits", "parameterNotFoundAction": "Deny"},
        ),
    )
    labelled = {
        "metadata": {"name": "x", "labels": {"limited": "yes"}},
        "data": {"a": "1", "b": "2"},
    }
    code, answer = await http.call("POST", CMS, labelled)
    assert code == 422 and answer["message"].endswith("denied request: at most 1 keys"), answer
    await http.call(
        "PATCH",
        f"{CMS}/limits",
        {"data": {"maxKeys": "2"}},
        content_type="application/merge-patch+json",
    )
    code, answer = await http.call("POST", CMS, labelled)
    assert code == 201, answer
    await http.call("DELETE", f"{CMS}/limits")
    labelled["metadata"]["name"] = "y"
    code, answer = await http.call("POST", CMS, labelled)
    assert code == 422
    assert answer["message"].endswith(
        "denied request: failed to configure binding: no params found for policy binding with "
        "`Deny` parameterNotFoundAction"
    )

    # variables: each may use the ones before it
    await install(
        http,
        policy(
            "few",
            [{"expression": "!variables.many", "message": "too many"}],
            variables=[
                {"name": "keys", "expression": "size(object.data)"},
                {"name": "many", "expression": "variables.keys > 2"},
            ],
        ),
        binding("few", "few", ["Deny"]),
    )
    code, answer = await http.call("POST", CMS, configmap("z", a="1", b="2", c="3"))
    assert code == 422 and answer["message"].endswith("denied request: too many"), answer
    code, _ = await http.call("POST", CMS, configmap("w", a="1"))
    assert code == 201


async def test_an_expression_error_follows_failure_policy_fail_or_ignore(http: Any) -> None:
    await install(
        http,
        policy("strict", [{"expression": "object.data.owner == 'me'"}]),
        binding("strict", "strict", ["Deny"]),
    )
    code, answer = await http.call("POST", CMS, configmap("no-owner", a="1"))
    assert code == 422, answer
    assert answer["message"].startswith(
        "configmaps \"no-owner\" is forbidden: ValidatingAdmissionPolicy 'strict' with binding "
        "'strict' denied request: expression 'object.data.owner == 'me'' resulted in error: "
    )
    await http.call("DELETE", f"{ADM}/validatingadmissionpolicies/strict")
    await install(
        http,
        policy("lenient", [{"expression": "object.data.owner == 'me'"}], failurePolicy="Ignore"),
        binding("lenient", "lenient", ["Deny"]),
    )
    code, _ = await http.call("POST", CMS, configmap("no-owner", a="1"))
    assert code == 201
    code, _ = await http.call("POST", CMS, configmap("not-mine", owner="you"))
    assert code == 422  # a false result still denies


async def test_an_erring_variable_is_absorbed_by_or_and_and_as_in_cel_go(http: Any) -> None:
    """cel-go's logical operators are commutative over errors: ``true || error`` is true.

    A variable that errs (here: a missing key) must not fail a rule whose other side already
    decides it, as the common guard pattern ``!isAgent || variables.node == ...`` relies on.
    """
    await install(
        http,
        policy(
            "guarded",
            [
                {"expression": "object.metadata.name != 'guarded' || variables.owner == 'me'"},
                {"expression": "!(object.metadata.name == 'guarded' && variables.owner == 'x')"},
            ],
            variables=[{"name": "owner", "expression": "object.data.owner"}],
        ),
        binding("guarded", "guarded", ["Deny"]),
    )
    code, answer = await http.call("POST", CMS, configmap("other", a="1"))
    assert code == 201, answer  # decided by the left side; the erring right side is absorbed
    code, answer = await http.call("POST", CMS, configmap("guarded", a="1"))
    assert code == 422 and "resulted in error" in answer["message"], answer


async def test_a_status_subresource_rule_matches_status_patches_not_spec_patches(
    http: Any,
) -> None:
    code, _ = await http.call(
        "POST", VIPS, {"metadata": {"name": "web"}, "spec": {"address": "192.0.2.10"}}
    )
    assert code == 201
    status_rule = {
        "apiGroups": ["floatip.io"],
        "apiVersions": ["*"],
        "operations": ["UPDATE"],
        "resources": ["virtualips/status"],
    }
    await install(
        http,
        policy(
            "frozen-status",
            [{"expression": "false", "message": "status is frozen"}],
            matchConstraints={"resourceRules": [status_rule]},
        ),
        binding("frozen-status", "frozen-status", ["Deny"]),
    )
    merge = "application/merge-patch+json"
    code, answer = await http.call(
        "PATCH", f"{VIPS}/web/status", {"status": {"holder": "server1"}}, content_type=merge
    )
    assert code == 422, answer
    assert answer["message"] == (
        "virtualips.floatip.io \"web\" is forbidden: ValidatingAdmissionPolicy 'frozen-status' "
        "with binding 'frozen-status' denied request: status is frozen"
    )
    code, answer = await http.call(
        "PATCH", VIPS + "/web", {"metadata": {"labels": {"a": "b"}}}, content_type=merge
    )
    assert code == 200, answer
    # "*/status" matches every status subresource, "*" none of them
    for resources, expected in ((["*/status"], 422), (["*"], 200)):
        rule = dict(status_rule, apiGroups=["*"], resources=resources)
        await http.call(
            "PATCH",
            f"{ADM}/validatingadmissionpolicies/frozen-status",
            {"spec": {"matchConstraints": {"resourceRules": [rule]}}},
            content_type=merge,
        )
        code, _ = await http.call(
            "PATCH", f"{VIPS}/web/status", {"status": {"holder": "server2"}}, content_type=merge
        )
        assert code == expected, resources


async def test_delete_sees_old_object_and_a_null_object_and_policy_kinds_are_exempt(
    http: Any,
) -> None:
    await http.call("POST", CMS, configmap("keep", pinned="yes"))
    every_kind = {
        "apiGroups": ["*"],
        "apiVersions": ["*"],
        "operations": ["*"],
        "resources": ["*"],
    }
    await install(
        http,
        policy(
            "pinned",
            [
                {
                    "expression": "request.operation != 'DELETE' || (object == null && "
                    "!('pinned' in oldObject.data))",
                    "message": "pinned objects stay",
                },
                {
                    "expression": "request.operation == 'DELETE' || oldObject == null || "
                    "object != null"
                },
            ],
            matchConstraints={"resourceRules": [every_kind]},
        ),
        binding("pinned", "pinned", ["Deny"]),
    )
    code, answer = await http.call("DELETE", f"{CMS}/keep")
    assert code == 422, answer
    assert answer["message"] == (
        "configmaps \"Unknown\" is forbidden: ValidatingAdmissionPolicy 'pinned' with binding "
        "'pinned' denied request: pinned objects stay"
    )
    await http.call("POST", CMS, configmap("loose", a="1"))
    code, _ = await http.call("DELETE", f"{CMS}/loose")
    assert code == 200
    # a policy matching everything never judges the policies and bindings themselves
    code, _ = await http.call("DELETE", f"{ADM}/validatingadmissionpolicybindings/pinned")
    assert code == 200
    code, _ = await http.call("DELETE", f"{CMS}/keep")
    assert code == 200


NODE_BOUND = policy(
    "agent-writes-its-own-lease",
    [
        {
            "expression": "request.userInfo.extra['authentication.kubernetes.io/node-name'][0] "
            "== (object != null ? object : oldObject).metadata.name",
            "messageExpression": "'this agent runs on ' + "
            "request.userInfo.extra['authentication.kubernetes.io/node-name'][0]",
            "reason": "Forbidden",
        }
    ],
    matchConstraints={
        "resourceRules": [
            {
                "apiGroups": ["coordination.k8s.io"],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE", "DELETE"],
                "resources": ["leases"],
            }
        ]
    },
    matchConditions=[
        {
            "name": "an-agent",
            "expression": "request.userInfo.username == 'system:serviceaccount:floatip:agent'",
        }
    ],
)


async def test_a_node_agents_pod_bound_token_may_write_its_own_nodes_lease_only(
    apiserver: RunningServer, http: Any, tmp_path: pathlib.Path
) -> None:
    await http.call("POST", "/api/v1/nodes", {"metadata": {"name": "server1"}})
    await http.call("POST", "/api/v1/namespaces", {"metadata": {"name": "floatip"}})
    await http.call(
        "POST", "/api/v1/namespaces/floatip/serviceaccounts", {"metadata": {"name": "agent"}}
    )
    role = {
        "metadata": {"name": "lease-writer"},
        "rules": [
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "create", "update", "patch", "delete"],
            }
        ],
    }
    rbac_api = "/apis/rbac.authorization.k8s.io/v1"
    await http.call("POST", f"{rbac_api}/clusterroles", role)
    await http.call(
        "POST",
        f"{rbac_api}/clusterrolebindings",
        {
            "metadata": {"name": "lease-writer"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "lease-writer",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "floatip"}],
        },
    )
    await install(http, NODE_BOUND, binding("agents", "agent-writes-its-own-lease", ["Deny"]))
    pod = {
        "metadata": {"name": "agent-server1"},
        "spec": {
            "nodeName": "server1",
            "serviceAccountName": "agent",
            "containers": [{"name": "agent", "image": "floatip:dev"}],
        },
    }
    code, created = await http.call("POST", "/api/v1/namespaces/floatip/pods", pod)
    assert code == 201, created
    # what kubelet does: a TokenRequest bound to the Pod, over the ordinary API
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "expirationSeconds": 3607,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": "agent-server1",
                "uid": created["metadata"]["uid"],
            },
        },
    }
    code, answer = await http.call(
        "POST", "/api/v1/namespaces/floatip/serviceaccounts/agent/token", request
    )
    assert code == 201, answer
    token = answer["status"]["token"]
    code, out = await run(apiserver.kubeconfig, "--token", token, "auth", "whoami")
    assert code == 0, out
    assert "Extra: authentication.kubernetes.io/node-name" in out and "[server1]" in out

    def lease(name: str) -> str:
        return json.dumps(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": name},
            }
        )

    code, out = await run(
        apiserver.kubeconfig, "--token", token, "apply", "-f", "-", stdin=lease("server1")
    )
    assert code == 0 and "lease.coordination.k8s.io/server1 created" in out, out
    code, answer = await http.call("POST", LEASES, json.loads(lease("server2")), token=token)
    assert (code, answer["reason"]) == (403, "Forbidden"), answer
    assert answer["message"] == (
        'leases.coordination.k8s.io "server2" is forbidden: ValidatingAdmissionPolicy '
        "'agent-writes-its-own-lease' with binding 'agents' denied request: this agent runs "
        "on server1"
    )
    await http.call("POST", LEASES, json.loads(lease("server2")))  # the admin's own
    code, _ = await http.call("DELETE", f"{LEASES}/server2", token=token)
    assert code == 403  # DELETE is judged on oldObject
    code, _ = await http.call("DELETE", f"{LEASES}/server1", token=token)
    assert code == 200

    await http.call("DELETE", "/api/v1/namespaces/floatip/pods/agent-server1")
    code, out = await run(apiserver.kubeconfig, "--token", token, "auth", "whoami")
    assert code == 1 and "Unauthorized" in out, out

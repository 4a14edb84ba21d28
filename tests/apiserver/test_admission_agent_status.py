"""The chart's agent-status policy decides as celpy's plain interpreter does, fast paths and all.

Proves: for an agent's status writes on a VirtualIP taken from a lab (its first announcement, a
refresh, a conflict, removals, changes to what the operator owns, 1 for 1.0, another node's
token, a token without a node, another user) and for many random edits of its status, the
server's admission (planned CEL, variables read without binding celpy's name containers,
``==`` answered at once for the same values) allows and refuses exactly what the same policies
allow and refuse when every expression runs on celpy's interpreter over the parsed tree, with
the same status code, reason and message; and the request's uid, made only where an
expression reads it, is there and fresh for each request where one does.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import celpy
import hypothesis
import pytest
from hypothesis import strategies as st

from floatip_apiserver import admission, cel, rbac
from floatip_apiserver.resources import Registry, Resource
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Store
from floatip_lab import admission as lab_admission
from floatip_lab import rbac as lab_rbac

VIPS = Resource("floatip.io", "v1alpha1", "virtualips", "VirtualIP", False, status=True)
TIME = "2026-11-30T23:53:27Z"
#: ``kubectl get vip web -o json`` in a lab, once server2 held and announced it
WEB: dict[str, Any] = {
    "apiVersion": "floatip.io/v1alpha1",
    "kind": "VirtualIP",
    "metadata": {"name": "web", "uid": "07f649d6", "generation": 1, "resourceVersion": "71"},
    "spec": {"address": "192.0.2.100/24", "holdDownSeconds": 10, "preempt": False},
    "status": {
        "announcement": {"epoch": 1, "mac": "02:f1:00:00:00:02", "node": "server2", "time": TIME},
        "conditions": [
            {
                "lastTransitionTime": TIME,
                "message": message,
                "observedGeneration": 1,
                "reason": reason,
                "status": state,
                "type": kind,
            }
            for kind, state, reason, message in [
                ("Ready", "True", "Ready", "server2 holds and announces the address at epoch 1"),
                ("Assigned", "True", "Assigned", "server2 holds it at epoch 1"),
                ("Announced", "True", "Announced", "server2 announced it at epoch 1"),
                ("HealthCheck", "True", "NotConfigured", "spec.healthCheck is not set"),
                ("Conflict", "False", "NoConflict", "no foreign host claims the address"),
            ]
        ],
        "epoch": 1,
        "history": [{"epoch": 1, "reason": "Assigned", "time": TIME, "to": "server2"}],
        "holder": "server2",
        "observedGeneration": 1,
    },
}
Edit = Callable[[dict[str, Any]], None]


def _policies(objects: list[dict[str, Any]] | None = None) -> admission.Policies:
    store = Store()
    text = lab_admission.policy_file().read_text()
    for i, obj in enumerate(objects or lab_admission.build_objects(text)):
        plural = lab_admission.collection(obj).rsplit("/", 1)[1]
        obj["metadata"].update(uid=f"uid-{i}", generation=1, resourceVersion="1")
        store.put((admission.POLICIES[0], plural), obj, "ADDED")
    return admission.Policies(store, Registry())


def _interpreted(expression: str) -> cel.CompiledRule:
    """The expression on celpy's own interpreter, its parsed tree neither collapsed nor
    planned."""
    try:
        ast = cel._ENV.compile(expression)
    except Exception as exc:
        return cel.CompiledRule(None, False, f"compilation failed: {exc}")
    return cel.CompiledRule(celpy.InterpretedRunner(cel._ENV, ast, cel._FUNCTIONS), False)


@contextlib.contextmanager
def _reference() -> Iterator[None]:
    with mock.patch.object(admission.cel, "compile_rule", _interpreted):
        yield


SERVED, REFERENCE = _policies(), _policies()


def _agent(node: str | None) -> rbac.User:
    extra = {} if node is None else {"authentication.kubernetes.io/node-name": (node,)}
    return rbac.User.service_account(lab_rbac.NAMESPACE, lab_rbac.ACCOUNTS["agent"], "u", extra)


def _decision(policies: admission.Policies, request: admission.Request) -> Any:
    warnings: list[str] = []
    try:
        policies.validate(request, warnings)
    except ApiError as exc:
        return ("refused", exc.code, exc.reason, exc.message, exc.details)
    return ("allowed", warnings)


def _decide(old: dict[str, Any], new: dict[str, Any], user: rbac.User) -> Any:
    request = admission.Request("UPDATE", VIPS, "", "web", "status", new, old, user, False, "a")
    served = _decision(SERVED, request)
    with _reference():
        assert served == _decision(REFERENCE, request)
    return served


def _edited(edit: Edit, base: dict[str, Any] = WEB) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    edit(obj["status"])
    return obj


def _without(field: str) -> Edit:
    return lambda status: status.pop(field)


def _set(field: str, value: Any) -> Edit:
    return lambda status: status.__setitem__(field, value)


UNANNOUNCED = _edited(_without("announcement"))
OWNED = "may not change status.holder, epoch, observedGeneration, conditions or history"
CASES: list[tuple[str, dict[str, Any], Edit, str | None, str | None]] = [
    # name, old, edit of the old status into the new, the token's node, refusal (or None)
    ("first announcement", UNANNOUNCED, _set("announcement", WEB["status"]["announcement"]),
     "server2", None),
    ("refresh", WEB, lambda s: s["announcement"].update(time="2026-11-30T23:54:27Z"),
     "server2", None),
    ("unchanged", WEB, lambda s: None, "server1", None),
    ("conflict of the holder", WEB, _set("conflict", {"node": "server2", "mac": "x"}),
     "server2", None),
    ("condition", WEB, lambda s: s["conditions"][0].update(status="False"), "server2", OWNED),
    ("condition order", WEB, lambda s: s["conditions"].reverse(), "server2", OWNED),
    ("keys reordered", WEB, lambda s: s.update(dict(reversed(list(s.items())))), "server2",
     None),
    ("history", WEB, lambda s: s["history"].append(s["history"][0]), "server2", OWNED),
    ("holder", WEB, _set("holder", "server1"), "server2", OWNED),
    # celpy has no int == double overload: an error, which failurePolicy Fail refuses (422)
    ("epoch as a double", WEB, _set("epoch", 1.0), "server2", "resulted in error: "),
    ("epoch as a bool", WEB, _set("epoch", True), "server2", None),  # celpy: true == 1
    ("observedGeneration", WEB, _without("observedGeneration"), "server2", OWNED),
    ("no status", WEB, lambda s: s.clear(), "server2", OWNED),
    ("another node's announcement", UNANNOUNCED,
     _set("announcement", {"node": "server1", "epoch": 1}), "server2", "only for itself"),
    ("a later epoch", UNANNOUNCED, _set("announcement", {"node": "server2", "epoch": 2}),
     "server2", "only for itself"),
    ("not the holder", UNANNOUNCED, _set("announcement", {"node": "server1", "epoch": 1}),
     "server1", "only for itself"),
    ("removes another's", WEB, _without("announcement"), "server1", "another node's"),
    ("removes its own", WEB, _without("announcement"), "server2", None),
    ("conflict of another", WEB, _set("conflict", {"node": "server1"}), "server1",
     "status.conflict only for itself"),
    ("no node", WEB, lambda s: None, None, "names no node"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "old", "edit", "node", "refusal"), CASES)
def test_an_agents_status_write_is_decided_as_the_interpreter_decides(
    name: str, old: dict[str, Any], edit: Edit, node: str | None, refusal: str | None
) -> None:
    decision = _decide(old, _edited(edit, old), _agent(node))
    if refusal is None:
        assert decision == ("allowed", []), name
    else:
        error = refusal.startswith("resulted in error")
        expected = ("refused", 422, "Invalid") if error else ("refused", 403, "Forbidden")
        assert decision[:3] == expected, (name, decision)
        assert refusal in decision[3], (name, decision)


def test_another_user_is_not_judged() -> None:
    operator = rbac.User.service_account(lab_rbac.NAMESPACE, lab_rbac.ACCOUNTS["operator"])
    assert _decide(WEB, _edited(_set("holder", "x")), operator) == ("allowed", [])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.sampled_from([0, 1, 2, 1.0, "server1", "server2", TIME])
    | st.floats(allow_nan=True),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["node", "epoch", "mac", "type"]), children, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["announcement", "conflict", "holder", "epoch", "observedGeneration", "history"]


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    st.lists(st.tuples(st.sampled_from(FIELDS), st.none() | JSON), max_size=3),
    st.lists(st.tuples(st.sampled_from(["node", "epoch", "time"]), JSON), max_size=2),
    st.sampled_from(["server1", "server2", None]),
    st.booleans(),
)
def test_random_status_edits_are_decided_as_the_interpreter_decides(
    fields: list[tuple[str, Any]],
    announced: list[tuple[str, Any]],
    node: str | None,
    first: bool,
) -> None:
    old = UNANNOUNCED if first else WEB
    new = copy.deepcopy(old)
    status = new["status"]
    for field, value in fields:
        if value is None:
            status.pop(field, None)
        else:
            status[field] = value
    if announced:
        status["announcement"] = dict(
            copy.deepcopy(WEB["status"]["announcement"]), **dict(announced)
        )
    _decide(old, new, _agent(node))


def test_the_requests_uid_is_made_where_an_expression_reads_it() -> None:
    """Made only when read (no expression can tell one it never reads), and then fresh."""
    spec = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["floatip.io"],
                    "apiVersions": ["*"],
                    "resources": ["virtualips/status"],
                    "operations": ["UPDATE"],
                }
            ]
        },
        "validations": [
            {"expression": "request.uid.size() != 36", "messageExpression": "'uid ' + request.uid"}
        ],
    }
    objects = [
        {"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "uid"}, "spec": spec},
        {
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "uid"},
            "spec": {"policyName": "uid", "validationActions": ["Warn"]},
        },
    ]
    for obj in objects:
        obj["apiVersion"] = "admissionregistration.k8s.io/v1"
    policies = _policies(objects)
    request = admission.Request(
        "UPDATE", VIPS, "", "web", "status", WEB, WEB, _agent("server1"), False, "a"
    )
    texts = [_decision(policies, request)[1][0] for _ in range(2)]
    assert all(text.split(": uid ")[1].count("-") == 4 for text in texts), texts
    assert texts[0] != texts[1]

"""Namespaces as the real server and its namespace controller run them.

Proves: a Namespace gets the ``kubernetes.io/metadata.name`` label (which writes cannot change
or remove), phase Active and the ``kubernetes`` spec finalizer, which only ``/finalize``
changes; ``kubectl delete namespace --wait`` marks it Terminating (deletionTimestamp), deletes
its content, waits for content with finalizers (reported in its conditions) and returns once the
last finalizer goes and the namespace with it; creating in a Terminating namespace is 403 with
the NamespaceTerminating cause; ``default``, ``kube-system`` and ``kube-public`` may not be
deleted; an empty namespace goes at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.kubectl_cli import run

NS = "/api/v1/namespaces"
MERGE = "application/merge-patch+json"


def lease(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, **meta},
        "spec": {"holderIdentity": "a"},
    }


def leases(ns: str) -> str:
    return f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"


async def test_namespace_gets_name_label_kubernetes_finalizer_and_phase_active(http: Any) -> None:
    code, ns = await http.call(
        "POST", NS, {"metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "x"}}}
    )
    assert code == 201, ns
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    code, ns = await http.call(
        "PATCH",
        f"{NS}/team",
        {"metadata": {"labels": {"kubernetes.io/metadata.name": "other", "a": "b"}}},
        content_type=MERGE,
    )
    assert code == 200
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team", "a": "b"}
    code, ns = await http.call(
        "PATCH",
        f"{NS}/team",
        {"metadata": {"labels": None}, "spec": {"finalizers": None}},
        content_type=MERGE,
    )
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}  # spec.finalizers: /finalize only
    ns["spec"]["finalizers"] = ["kubernetes", "example.com/audit"]
    code, ns = await http.call("PUT", f"{NS}/team/finalize", ns)
    assert code == 200, ns
    assert ns["spec"]["finalizers"] == ["kubernetes", "example.com/audit"]
    _, listing = await http.call("GET", "/api/v1")
    [finalize] = [r for r in listing["resources"] if r["name"] == "namespaces/finalize"]
    assert (finalize["kind"], finalize["verbs"]) == ("Namespace", ["update"])
    assert "group" not in finalize  # the parent's own group, omitted as Go omits it


@pytest.mark.kubectl
async def test_kubectl_delete_namespace_wait_returns_when_content_finalizers_are_gone(
    apiserver: RunningServer, http: Any
) -> None:
    kubeconfig = apiserver.kubeconfig
    assert (await run(kubeconfig, "create", "namespace", "team"))[0] == 0
    await http.call("POST", leases("team"), lease("free"))
    await http.call("POST", leases("team"), lease("held", finalizers=["example.com/hold"]))
    deleting = asyncio.ensure_future(
        run(kubeconfig, "delete", "namespace", "team", "--wait", "--timeout=30s")
    )
    for _ in range(100):
        code, ns = await http.call("GET", f"{NS}/team")
        if ns["status"].get("conditions"):
            break
        await asyncio.sleep(0.1)
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    conditions = {c["type"]: c for c in ns["status"]["conditions"]}
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: leases.coordination.k8s.io has 1 resource instances"
    )
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances"
    )
    assert (await http.call("GET", f"{leases('team')}/free"))[0] == 404
    code, held = await http.call("GET", f"{leases('team')}/held")
    assert code == 200 and held["metadata"]["deletionTimestamp"]
    code, status = await http.call("POST", leases("team"), lease("late"))
    assert (code, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (
        'leases.coordination.k8s.io "late" is forbidden: unable to create new content in '
        "namespace team because it is being terminated"
    )
    assert status["details"]["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": "namespace team is being terminated",
            "field": "metadata.namespace",
        }
    ]
    assert not deleting.done()  # kubectl --wait is still waiting
    await http.call(
        "PATCH", f"{leases('team')}/held", {"metadata": {"finalizers": None}}, content_type=MERGE
    )
    code, out = await asyncio.wait_for(deleting, 30)
    assert code == 0 and 'namespace "team" deleted' in out, out
    assert (await http.call("GET", f"{NS}/team"))[0] == 404


@pytest.mark.kubectl
async def test_default_kube_system_and_kube_public_may_not_be_deleted(
    apiserver: RunningServer, http: Any
) -> None:
    for name in ("default", "kube-system", "kube-public"):
        code, status = await http.call("DELETE", f"{NS}/{name}")
        assert (code, status["reason"]) == (403, "Forbidden")
        assert status["message"] == (
            f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
    code, out = await run(apiserver.kubeconfig, "delete", "namespace", "default")
    assert code == 1 and "this namespace may not be deleted" in out
    code, _ = await http.call("DELETE", f"{NS}/kube-node-lease")
    assert code == 200  # not immortal: deletable like any other


async def test_empty_namespace_goes_at_once_after_terminating(http: Any) -> None:
    await http.call("POST", NS, {"metadata": {"name": "team"}})
    code, marked = await http.call("DELETE", f"{NS}/team")
    assert code == 200
    assert marked["status"]["phase"] == "Terminating" and marked["metadata"]["deletionTimestamp"]
    assert (await http.call("GET", f"{NS}/team"))[0] == 404

"""Garbage collection by ownerReferences, as kube-controller-manager's collector does it.

Proves: background deletion (the default) removes the owner, then its dependents (in revision
order), and a dependent with another owner only loses the dangling reference; a dependent
created for an owner that does not exist is collected; foreground deletion keeps the owner
(deletionTimestamp, ``foregroundDeletion``) until dependents with ``blockOwnerDeletion`` are
gone, grandchildren first; orphan deletion strips the references and keeps the dependents;
the policy comes from the query or the DeleteOptions body (``orphanDependents`` too), invalid
ones are 422; ``kubectl delete --cascade=background|foreground|orphan`` does each.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.kubectl_cli import run

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
MERGE = "application/merge-patch+json"


async def make(http: Any, name: str, *owners: dict[str, Any], **meta: Any) -> dict[str, Any]:
    """A Lease owned by ``owners`` (blocking when the owner dict says ``block``)."""
    refs = [
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
            **({"blockOwnerDeletion": True} if o.get("block") else {}),
        }
        for o in owners
    ]
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, **({"ownerReferences": refs} if refs else {}), **meta},
        "spec": {"holderIdentity": "a"},
    }
    code, obj = await http.call("POST", LEASES, body)
    assert code == 201, obj
    return dict(obj)


def blocking(owner: dict[str, Any]) -> dict[str, Any]:
    return {**owner, "block": True}


async def exists(http: Any, name: str) -> dict[str, Any] | None:
    code, obj = await http.call("GET", f"{LEASES}/{name}")
    return obj if code == 200 else None


async def test_background_deletes_owner_then_dependents_and_keeps_those_with_another_owner(
    apiserver: RunningServer, http: Any
) -> None:
    owner = await make(http, "owner")
    other = await make(http, "other")
    await make(http, "only-child", owner)
    await make(http, "shared-child", owner, other)
    _, listing = await http.call("GET", LEASES)
    since = listing["metadata"]["resourceVersion"]
    code, _ = await http.call("DELETE", f"{LEASES}/owner")
    assert code == 200
    assert await exists(http, "only-child") is None
    shared = await exists(http, "shared-child")
    assert shared is not None
    assert [r["name"] for r in shared["metadata"]["ownerReferences"]] == ["other"]
    async with http.session.get(
        f"{apiserver.url}{LEASES}?watch=1&resourceVersion={since}&timeoutSeconds=1",
        headers={"Authorization": f"Bearer {http.token}"},
    ) as response:
        events = [json.loads(line) for line in (await response.read()).splitlines()]
    order = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert order[0] == ("DELETED", "owner")  # the owner first, then what it held
    assert sorted(order[1:]) == [("DELETED", "only-child"), ("MODIFIED", "shared-child")]


async def test_dependent_created_for_a_missing_owner_is_collected(http: Any) -> None:
    ghost = {"metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000000"}}
    await make(http, "orphaned", ghost)
    assert await exists(http, "orphaned") is None


async def test_foreground_keeps_the_owner_until_blocking_dependents_are_gone_grandchildren_first(
    http: Any,
) -> None:
    owner = await make(http, "owner")
    child = await make(http, "child", blocking(owner))
    await make(http, "grandchild", blocking(child), finalizers=["example.com/hold"])
    await make(http, "loose", owner)  # not blocking: deleted, but not waited for
    code, marked = await http.call("DELETE", f"{LEASES}/owner?propagationPolicy=Foreground")
    assert code == 200
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert await exists(http, "loose") is None
    child_now = await exists(http, "child")
    assert child_now is not None and child_now["metadata"]["finalizers"] == ["foregroundDeletion"]
    grandchild = await exists(http, "grandchild")
    assert grandchild is not None and grandchild["metadata"]["deletionTimestamp"]
    assert await exists(http, "owner") is not None
    await http.call(
        "PATCH", f"{LEASES}/grandchild", {"metadata": {"finalizers": None}}, content_type=MERGE
    )
    for name in ("grandchild", "child", "owner"):
        assert await exists(http, name) is None, name


async def test_orphan_strips_the_references_and_keeps_the_dependents(http: Any) -> None:
    owner = await make(http, "owner")
    other = await make(http, "other")
    await make(http, "child", owner, other)
    await make(http, "only-child", owner)
    code, _ = await http.call(
        "DELETE", f"{LEASES}/owner", {"kind": "DeleteOptions", "propagationPolicy": "Orphan"}
    )
    assert code == 200
    assert await exists(http, "owner") is None
    child = await exists(http, "child")
    assert child is not None
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["other"]
    only = await exists(http, "only-child")
    assert only is not None and "ownerReferences" not in only["metadata"]


async def test_propagation_from_query_body_and_orphan_dependents_invalid_is_422(
    http: Any,
) -> None:
    owner = await make(http, "owner")
    await make(http, "child", owner)
    code, _ = await http.call("DELETE", f"{LEASES}/owner?orphanDependents=true")
    assert code == 200
    assert await exists(http, "child") is not None  # orphaned, the deprecated way
    code, status = await http.call("DELETE", f"{LEASES}/child?propagationPolicy=Sideways")
    assert (code, status["reason"]) == (422, "Invalid")
    assert 'propagationPolicy: Unsupported value: "Sideways"' in status["message"]
    code, status = await http.call(
        "DELETE", f"{LEASES}/child", {"propagationPolicy": "Orphan", "orphanDependents": True}
    )
    assert (code, status["reason"]) == (422, "Invalid")
    assert "cannot be both set" in status["message"]


@pytest.mark.kubectl
async def test_kubectl_delete_cascade_background_foreground_and_orphan(
    apiserver: RunningServer, http: Any
) -> None:
    kubeconfig = apiserver.kubeconfig
    owner = await make(http, "bg")
    await make(http, "bg-child", owner)
    code, out = await run(kubeconfig, "delete", "lease", "bg", "--cascade=background")
    assert code == 0, out
    assert await exists(http, "bg-child") is None

    owner = await make(http, "orphaner")
    await make(http, "orphan-child", owner)
    code, out = await run(kubeconfig, "delete", "lease", "orphaner", "--cascade=orphan")
    assert code == 0, out
    child = await exists(http, "orphan-child")
    assert child is not None and "ownerReferences" not in child["metadata"]

    owner = await make(http, "fg")
    await make(http, "fg-child", blocking(owner), finalizers=["example.com/hold"])
    deleting = asyncio.ensure_future(
        run(kubeconfig, "delete", "lease", "fg", "--cascade=foreground", "--timeout=30s")
    )
    for _ in range(100):
        fg = await exists(http, "fg")
        if fg is not None and fg["metadata"].get("deletionTimestamp"):
            break
        await asyncio.sleep(0.1)
    assert fg is not None and fg["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert not deleting.done()  # --wait (the default) waits for the owner to go
    await http.call(
        "PATCH", f"{LEASES}/fg-child", {"metadata": {"finalizers": None}}, content_type=MERGE
    )
    code, out = await asyncio.wait_for(deleting, 30)
    assert code == 0 and 'lease.coordination.k8s.io "fg" deleted' in out, out
    assert await exists(http, "fg") is None and await exists(http, "fg-child") is None

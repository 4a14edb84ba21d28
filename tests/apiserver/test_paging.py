"""Paged lists read one consistent snapshot, as the real server's etcd-backed continue tokens do.

Proves: with objects deleted, created and changed between pages, the pages together hold
exactly the objects of the first page's revision, each once and as it was then, and every page
reports that resourceVersion; a token older than the kept history is 410 Expired with a token
that continues (inconsistently) from now; a forged token is 400; remainingItemCount is given
only for unfiltered lists; ``kubectl get --chunk-size`` pages through everything.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


def lease(name: str, holder: str = "a", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "labels": labels},
        "spec": {"holderIdentity": holder},
    }


async def _pages(http: Any, query: str, between: Any = None) -> list[dict[str, Any]]:
    pages = []
    token = ""
    while True:
        suffix = f"&continue={token}" if token else ""
        code, body = await http.call("GET", f"{LEASES}?{query}{suffix}")
        assert code == 200, body
        pages.append(body)
        token = body["metadata"].get("continue", "")
        if not token:
            return pages
        if between is not None:
            await between(len(pages))


async def test_continue_pages_the_first_pages_snapshot_under_churn_like_etcd(http: Any) -> None:
    names = [f"l{i:02}" for i in range(12)]
    for name in names:
        assert (await http.call("POST", LEASES, lease(name)))[0] == 201

    async def churn(done: int) -> None:
        """Delete seen and unseen objects, create before and after the cursor, change one."""
        tag = str(done)
        for name in (f"l{done * 3 - 2:02}", f"l{done * 3 + 1:02}", f"l{done * 3 + 2:02}"):
            await http.call("DELETE", f"{LEASES}/{name}")
        await http.call("POST", LEASES, lease(f"l00-new{tag}"))
        await http.call("POST", LEASES, lease(f"l99-new{tag}"))
        code, _ = await http.call(
            "PATCH",
            f"{LEASES}/l11",
            {"spec": {"holderIdentity": f"changed{tag}"}},
            content_type="application/merge-patch+json",
        )
        assert code in (200, 404)

    pages = await _pages(http, "limit=3", churn)
    seen = [item["metadata"]["name"] for page in pages for item in page["items"]]
    assert seen == names  # none skipped, none repeated, none of the new ones
    assert {page["metadata"]["resourceVersion"] for page in pages} == {
        pages[0]["metadata"]["resourceVersion"]
    }
    last = pages[-1]["items"][-1]
    assert last["metadata"]["name"] == "l11" and last["spec"]["holderIdentity"] == "a"
    _, now = await http.call("GET", LEASES)
    assert "l01" not in [i["metadata"]["name"] for i in now["items"]]  # the churn was real


async def test_continue_older_than_history_is_410_expired_with_an_inconsistent_token(
    apiserver: RunningServer, http: Any
) -> None:
    for name in ("a", "b", "c", "d"):
        await http.call("POST", LEASES, lease(name))
    _, first = await http.call("GET", f"{LEASES}?limit=2")
    await http.call("DELETE", f"{LEASES}/c")
    apiserver.compact()
    code, status = await http.call(
        "GET", f"{LEASES}?limit=2&continue={first['metadata']['continue']}"
    )
    assert (code, status["kind"], status["reason"]) == (410, "Status", "Expired")
    assert "too old to display a consistent list result" in status["message"]
    token = status["metadata"]["continue"]
    code, rest = await http.call("GET", f"{LEASES}?limit=2&continue={token}")
    assert code == 200
    assert [i["metadata"]["name"] for i in rest["items"]] == ["d"]  # from now: c is gone


async def test_forged_continue_token_is_400_bad_request(http: Any) -> None:
    code, status = await http.call("GET", f"{LEASES}?limit=1&continue=not-a-token")
    assert (code, status["reason"]) == (400, "BadRequest")
    assert "continue key is not valid" in status["message"]


async def test_remaining_item_count_only_for_unfiltered_lists(http: Any) -> None:
    for name in ("a", "b", "c"):
        await http.call("POST", LEASES, lease(name, tier="x"))
    _, plain = await http.call("GET", f"{LEASES}?limit=1")
    assert plain["metadata"]["remainingItemCount"] == 2
    _, filtered = await http.call("GET", f"{LEASES}?limit=1&labelSelector=tier%3Dx")
    assert filtered["metadata"]["continue"] and "remainingItemCount" not in filtered["metadata"]
    pages = await _pages(http, "limit=1&labelSelector=tier%3Dx")
    assert [p["items"][0]["metadata"]["name"] for p in pages] == ["a", "b", "c"]


@pytest.mark.kubectl
async def test_kubectl_get_chunk_size_pages_through_every_object(
    apiserver: RunningServer, http: Any
) -> None:
    for i in range(7):
        await http.call("POST", LEASES, lease(f"l{i}"))
    code, out = await kubectl(
        apiserver, "get", "leases", "-n", "default", "--chunk-size=2", "-o", "name", "-v=6"
    )
    assert code == 0, out
    assert [line for line in out.splitlines() if line.startswith("lease")] == [
        f"lease.coordination.k8s.io/l{i}" for i in range(7)
    ]
    assert out.count("continue=") == 3  # four pages of at most two

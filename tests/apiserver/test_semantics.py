"""The test API server answers REST calls the way kube-apiserver does.

Proves, over real HTTPS with bearer tokens: discovery (groups, verbs, shortNames, categories,
status subresource, health endpoints, OpenAPI), server-assigned metadata, 404/409/422 Status
errors, label/field selectors and pagination, every patch type (including a failed JSON-patch
``test`` as 422 and strategic merge refused for custom resources), server-side apply conflicts,
dryRun, finalizers, the status subresource split, schema pruning/defaults/validation with
fieldValidation, watch ordering/bookmarks/410 (each change encoded once for all watchers),
Table rendering, RBAC, and the fault controls,
including the hold fault: a held write is provably pending, a released one is applied even
after its client went away, a dropped one never is, and only the named user's writes are held.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import aiohttp

from floatip_apiserver import rbac
from floatip_apiserver.runtime import RunningServer

VIPS = "/apis/floatip.io/v1alpha1/virtualips"


def vip(name: str, address: str = "192.0.2.10", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIP",
        "metadata": {"name": name, **meta},
        "spec": {"address": address},
    }


async def test_discovery_lists_groups_resources_verbs_shortnames_like_real_server(
    http: Any,
) -> None:
    code, apis = await http.call("GET", "/apis")
    assert code == 200
    assert "floatip.io" in [g["name"] for g in apis["groups"]]
    code, core = await http.call("GET", "/api/v1")
    assert core["groupVersion"] == "v1"
    assert "namespaces" in [r["name"] for r in core["resources"]]
    _, group = await http.call("GET", "/apis/floatip.io/v1alpha1")
    by_name = {r["name"]: r for r in group["resources"]}
    assert by_name["virtualips"]["shortNames"] == ["vip"]
    assert by_name["virtualips"]["categories"] == ["floatip"]
    assert by_name["virtualips"]["namespaced"] is False
    assert "watch" in by_name["virtualips"]["verbs"]
    assert by_name["virtualips/status"]["verbs"] == ["get", "patch", "update"]
    _, version = await http.call("GET", "/version")
    assert version["major"] == "1"
    _, index = await http.call("GET", "/openapi/v3")
    assert "apis/floatip.io/v1alpha1" in index["paths"]


async def test_health_endpoints_answer_ok_without_a_token(
    apiserver: RunningServer, http: Any
) -> None:
    for path in ("/healthz", "/readyz", "/livez"):
        async with http.session.get(apiserver.url + path) as response:
            assert response.status == 200
            assert await response.text() == "ok"
    async with http.session.get(apiserver.url + "/api") as response:
        assert response.status == 401


async def test_metadata_uid_generatename_generation_and_one_global_resourceversion(
    http: Any,
) -> None:
    body = vip("")
    body["metadata"] = {"generateName": "web-"}
    code, first = await http.call("POST", VIPS, body)
    assert code == 201
    meta = first["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == 9
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    _, lease = await http.call(
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}},
    )
    assert int(lease["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    name = meta["name"]
    _, labelled = await http.call(
        "PATCH",
        f"{VIPS}/{name}",
        {"metadata": {"labels": {"a": "b"}}},
        content_type="application/merge-patch+json",
    )
    assert labelled["metadata"]["generation"] == 1  # metadata changes do not bump generation
    _, moved = await http.call(
        "PATCH",
        f"{VIPS}/{name}",
        {"spec": {"address": "192.0.2.11"}},
        content_type="application/merge-patch+json",
    )
    assert moved["metadata"]["generation"] == 2


async def test_create_conflict_get_notfound_as_status_objects(http: Any) -> None:
    assert (await http.call("POST", VIPS, vip("a")))[0] == 201
    code, status = await http.call("POST", VIPS, vip("a"))
    assert (code, status["kind"], status["reason"]) == (409, "Status", "AlreadyExists")
    code, status = await http.call("GET", f"{VIPS}/missing")
    assert (code, status["reason"]) == (404, "NotFound")
    assert status["message"] == 'virtualips.floatip.io "missing" not found'


async def test_put_with_stale_resourceversion_is_409_conflict(http: Any) -> None:
    _, obj = await http.call("POST", VIPS, vip("a"))
    obj["spec"]["address"] = "192.0.2.20"
    code, _ = await http.call("PUT", f"{VIPS}/a", obj)
    assert code == 200
    obj["spec"]["address"] = "192.0.2.30"  # still carries the old resourceVersion
    code, status = await http.call("PUT", f"{VIPS}/a", obj)
    assert (code, status["reason"]) == (409, "Conflict")
    code, _ = await http.call(
        "PATCH",
        f"{VIPS}/a",
        {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "spec": {"address": "192.0.2.40"},
        },
        content_type="application/merge-patch+json",
    )
    assert code == 409


async def test_list_label_selectors_field_selectors_and_pagination(http: Any) -> None:
    for name, labels in [("a", {"tier": "web"}), ("b", {"tier": "db"}), ("c", {"x": "1"})]:
        await http.call("POST", VIPS, vip(name, labels=labels))

    async def names(query: str) -> list[str]:
        code, body = await http.call("GET", f"{VIPS}?{query}")
        assert code == 200, body
        assert body["kind"] == "VirtualIPList" and body["apiVersion"] == "floatip.io/v1alpha1"
        return [i["metadata"]["name"] for i in body["items"]]

    assert await names("labelSelector=tier%3Dweb") == ["a"]
    assert await names("labelSelector=tier%3D%3Dweb") == ["a"]
    assert await names("labelSelector=tier!%3Dweb") == ["b", "c"]
    assert await names("labelSelector=tier+in+(web,db)") == ["a", "b"]
    assert await names("labelSelector=tier+notin+(web)") == ["b", "c"]
    assert await names("labelSelector=tier") == ["a", "b"]
    assert await names("labelSelector=!tier") == ["c"]
    assert await names("fieldSelector=metadata.name%3Db") == ["b"]
    code, page = await http.call("GET", f"{VIPS}?limit=2")
    assert [i["metadata"]["name"] for i in page["items"]] == ["a", "b"]
    assert page["metadata"]["remainingItemCount"] == 1
    _, rest = await http.call("GET", f"{VIPS}?limit=2&continue={page['metadata']['continue']}")
    assert [i["metadata"]["name"] for i in rest["items"]] == ["c"]
    assert "continue" not in rest["metadata"]
    code, _ = await http.call("GET", f"{VIPS}?labelSelector=a+in+b")
    assert code == 400


async def test_json_patch_test_of_null_passes_on_an_absent_member_like_evanphx(
    http: Any,
) -> None:
    """evanphx/json-patch (the real server's): null tests equal to an absent member, a value
    does not, and a missing parent fails; the operator's first write guards on it."""
    await http.call("POST", VIPS, vip("a"))
    patch = "application/json-patch+json"
    first = [
        {"op": "test", "path": "/status", "value": None},
        {"op": "add", "path": "/status", "value": {}},
        {"op": "add", "path": "/status/holder", "value": "n1"},
    ]
    code, written = await http.call("PATCH", f"{VIPS}/a/status", first, content_type=patch)
    assert code == 200 and written["status"] == {"holder": "n1", "epoch": 0}  # epoch defaulted
    code, refused = await http.call("PATCH", f"{VIPS}/a/status", first, content_type=patch)
    assert (code, refused["reason"]) == (422, "Invalid")
    assert "testing value /status failed" in refused["message"]
    generation = [
        {"op": "test", "path": "/status/observedGeneration", "value": None},
        {"op": "add", "path": "/status/observedGeneration", "value": 1},
    ]
    code, _ = await http.call("PATCH", f"{VIPS}/a/status", generation, content_type=patch)
    assert code == 200
    code, _ = await http.call("PATCH", f"{VIPS}/a/status", generation, content_type=patch)
    assert code == 422
    missing = [{"op": "test", "path": "/spec/nothing/here", "value": None}]
    code, refused = await http.call("PATCH", f"{VIPS}/a", missing, content_type=patch)
    assert code == 422 and "is missing path: /spec/nothing/here" in refused["message"]


async def test_patch_types_json_patch_test_failure_is_422_and_smp_refused_for_crs(
    http: Any,
) -> None:
    await http.call("POST", VIPS, vip("a"))
    ops = [
        {"op": "test", "path": "/spec/address", "value": "192.0.2.99"},
        {"op": "replace", "path": "/spec/address", "value": "192.0.2.50"},
    ]
    code, status = await http.call(
        "PATCH", f"{VIPS}/a", ops, content_type="application/json-patch+json"
    )
    assert (code, status["reason"]) == (422, "Invalid")
    ops[0]["value"] = "192.0.2.10"
    code, patched = await http.call(
        "PATCH", f"{VIPS}/a", ops, content_type="application/json-patch+json"
    )
    assert code == 200 and patched["spec"]["address"] == "192.0.2.50"
    code, _ = await http.call(
        "PATCH", f"{VIPS}/a", {"spec": {}}, content_type="application/strategic-merge-patch+json"
    )
    assert code == 415
    nodes = "/api/v1/nodes"
    await http.call(
        "POST",
        nodes,
        {
            "metadata": {"name": "n1"},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False"},
                    {"type": "DiskPressure", "status": "False"},
                ]
            },
        },
    )
    code, node = await http.call(
        "PATCH",
        f"{nodes}/n1/status",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        content_type="application/strategic-merge-patch+json",
    )
    assert code == 200
    assert node["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "DiskPressure", "status": "False"},
    ]


async def test_server_side_apply_owns_fields_and_conflicts_without_force(http: Any) -> None:
    applied = vip("a")
    apply = "application/apply-patch+yaml"
    code, obj = await http.call(
        "PATCH", f"{VIPS}/a?fieldManager=gitops", applied, content_type=apply
    )
    assert code == 201
    assert obj["metadata"]["managedFields"][0]["manager"] == "gitops"
    applied["spec"]["address"] = "192.0.2.11"
    code, status = await http.call(
        "PATCH", f"{VIPS}/a?fieldManager=other", applied, content_type=apply
    )
    assert (code, status["reason"]) == (409, "Conflict")
    assert "gitops" in status["message"]
    code, obj = await http.call(
        "PATCH", f"{VIPS}/a?fieldManager=other&force=true", applied, content_type=apply
    )
    assert code == 200 and obj["spec"]["address"] == "192.0.2.11"


async def test_managed_fields_keep_one_entry_per_manager_operation_and_subresource(
    http: Any,
) -> None:
    """kopf patches annotations on the main resource, then status on /status, as one manager."""
    await http.call("POST", f"{VIPS}?fieldManager=people", vip("a"))
    merge = "application/merge-patch+json"
    await http.call(
        "PATCH",
        f"{VIPS}/a?fieldManager=kopf",
        {"metadata": {"annotations": {"k": "v"}}},
        content_type=merge,
    )
    code, obj = await http.call(
        "PATCH",
        f"{VIPS}/a/status?fieldManager=kopf",
        {"status": {"holder": "n1"}},
        content_type=merge,
    )
    assert code == 200
    entries = {
        (e["manager"], e.get("subresource", "")): e["fieldsV1"]
        for e in obj["metadata"]["managedFields"]
    }
    assert set(entries) == {("people", ""), ("kopf", ""), ("kopf", "status")}
    assert entries[("kopf", "")] == {"f:metadata": {"f:annotations": {"f:k": {}}}}
    assert list(entries[("kopf", "status")]) == ["f:status"]  # holder and the defaulted epoch
    assert "f:holder" in entries[("kopf", "status")]["f:status"]
    code, obj = await http.call(
        "PATCH",
        f"{VIPS}/a?fieldManager=kopf",
        {"metadata": {"annotations": {"k": "w"}}},
        content_type=merge,
    )
    kopf_entries = [e for e in obj["metadata"]["managedFields"] if e["manager"] == "kopf"]
    assert len(kopf_entries) == 2  # a second main-resource write updates its own entry only


async def test_dry_run_all_validates_but_stores_nothing(http: Any) -> None:
    code, obj = await http.call("POST", f"{VIPS}?dryRun=All", vip("a"))
    assert code == 201 and obj["spec"]["address"] == "192.0.2.10"
    assert (await http.call("GET", f"{VIPS}/a"))[0] == 404
    code, _ = await http.call("POST", f"{VIPS}?dryRun=All", vip("a", address="224.0.0.1"))
    assert code == 422


async def test_delete_with_finalizers_sets_deletiontimestamp_then_removes(http: Any) -> None:
    await http.call("POST", VIPS, vip("a", finalizers=["floatip.io/release"]))
    code, marked = await http.call("DELETE", f"{VIPS}/a")
    assert code == 200 and marked["metadata"]["deletionTimestamp"]
    assert (await http.call("GET", f"{VIPS}/a"))[0] == 200
    code, _ = await http.call(
        "PATCH",
        f"{VIPS}/a",
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    assert code == 200
    assert (await http.call("GET", f"{VIPS}/a"))[0] == 404


async def test_status_subresource_splits_spec_and_status_writes(http: Any) -> None:
    body = vip("a")
    body["status"] = {"holder": "ignored"}
    _, created = await http.call("POST", VIPS, body)
    assert "status" not in created  # create drops status when the subresource exists
    code, obj = await http.call(
        "PATCH",
        f"{VIPS}/a/status",
        {"spec": {"address": "192.0.2.77"}, "status": {"holder": "n1"}},
        content_type="application/merge-patch+json",
    )
    assert code == 200
    assert obj["status"]["holder"] == "n1"
    assert obj["spec"]["address"] == "192.0.2.10"  # /status changes only status
    assert obj["metadata"]["generation"] == 1  # status writes never bump generation
    _, obj = await http.call(
        "PATCH",
        f"{VIPS}/a",
        {"status": {"holder": "n2"}},
        content_type="application/merge-patch+json",
    )
    assert obj["status"]["holder"] == "n1"  # the main endpoint ignores status


async def test_schema_prunes_defaults_and_rejects_with_field_paths(http: Any) -> None:
    body = vip("a")
    body["spec"]["bogus"] = 1
    code, status = await http.call("POST", f"{VIPS}?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "spec.bogus"' in status["message"]
    code, obj = await http.call("POST", f"{VIPS}?fieldValidation=Ignore", body)
    assert code == 201 and "bogus" not in obj["spec"]
    assert obj["spec"]["preempt"] is False  # a default applied
    bad = vip("b", address="224.0.0.5")
    bad["spec"]["announce"] = {"burstCount": 99}
    code, status = await http.call("POST", VIPS, bad)
    assert (code, status["reason"]) == (422, "Invalid")
    fields = {c["field"] for c in status["details"]["causes"]}
    assert "spec.announce.burstCount" in fields
    assert status["message"].startswith('VirtualIP.floatip.io "b" is invalid: ')
    code, status = await http.call("POST", VIPS, vip("c", address="224.0.0.5"))
    assert status["details"]["causes"][0]["field"] == "spec.address"
    assert "unicast" in status["message"]


async def _watch(http: Any, query: str, count: int) -> list[dict[str, Any]]:
    events = []
    headers = {"Authorization": f"Bearer {http.token}"}
    async with http.session.get(
        f"{http.server.url}{VIPS}?watch=true&{query}", headers=headers
    ) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        async for line in response.content:
            events.append(json.loads(line))
            if len(events) == count:
                break
    return events


async def test_watch_from_resourceversion_in_order_with_bookmarks_and_410(
    apiserver: RunningServer,
    http: Any,
) -> None:
    _, obj = await http.call("POST", VIPS, vip("a"))
    start = obj["metadata"]["resourceVersion"]
    await http.call(
        "PATCH",
        f"{VIPS}/a",
        {"metadata": {"labels": {"x": "y"}}},
        content_type="application/merge-patch+json",
    )
    await http.call("DELETE", f"{VIPS}/a")
    events = await _watch(http, f"resourceVersion={start}&allowWatchBookmarks=true", 3)
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED", "BOOKMARK"]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs)
    apiserver.compact()
    expired = await _watch(http, f"resourceVersion={start}", 99)
    assert [e["type"] for e in expired] == ["ERROR"]  # the watch cache answers 200 + ERROR
    assert (expired[0]["object"]["code"], expired[0]["object"]["reason"]) == (410, "Expired")


async def test_watch_timeoutseconds_ends_the_stream_and_many_watchers_see_each_change(
    apiserver: RunningServer,
    http: Any,
) -> None:
    watchers = [asyncio.create_task(_watch(http, "resourceVersion=1", 1)) for _ in range(20)]
    while apiserver.api.store.watcher_count < 20:  # noqa: ASYNC110 (polling server state)
        await asyncio.sleep(0.01)
    await http.call("POST", VIPS, vip("a"))
    results = await asyncio.gather(*watchers)
    assert all(r[0]["type"] == "ADDED" for r in results)
    events = await _watch(http, "timeoutSeconds=1&resourceVersion=1", 99)
    assert [e["type"] for e in events] == ["ADDED"]


async def test_table_rendering_uses_additional_printer_columns(http: Any) -> None:
    await http.call("POST", VIPS, vip("a"))
    await http.call(
        "PATCH",
        f"{VIPS}/a/status",
        {
            "status": {
                "holder": "n1",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "Announced",
                        "message": "",
                        "lastTransitionTime": "2024-01-01T00:00:00Z",
                    }
                ],
            }
        },
        content_type="application/merge-patch+json",
    )
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    _, table = await http.call("GET", VIPS, headers={"Accept": accept})
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Address",
        "Node",
        "Ready",
        "Age",
        "Epoch",
        "Group",
    ]
    assert table["rows"][0]["cells"][:4] == ["a", "192.0.2.10", "n1", "True"]


async def test_rbac_allows_and_denies_per_rule(apiserver: RunningServer, http: Any) -> None:
    rbac_api = "/apis/rbac.authorization.k8s.io/v1"
    await http.call("POST", "/api/v1/namespaces", {"metadata": {"name": "floatip"}})
    await http.call(
        "POST",
        f"{rbac_api}/clusterroles",
        {
            "metadata": {"name": "vip-reader"},
            "rules": [
                {
                    "apiGroups": ["floatip.io"],
                    "resources": ["virtualips"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["floatip.io"],
                    "resources": ["virtualips/status"],
                    "verbs": ["patch"],
                    "resourceNames": ["a"],
                },
            ],
        },
    )
    await http.call(
        "POST",
        f"{rbac_api}/clusterrolebindings",
        {
            "metadata": {"name": "agent"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "vip-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "floatip"}],
        },
    )
    await http.call(
        "POST",
        f"{rbac_api}/namespaces/floatip/roles",
        {
            "metadata": {"name": "leases", "namespace": "floatip"},
            "rules": [
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}
            ],
        },
    )
    await http.call(
        "POST",
        f"{rbac_api}/namespaces/floatip/rolebindings",
        {
            "metadata": {"name": "leases", "namespace": "floatip"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leases"},
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "floatip"}],
        },
    )
    await http.call("POST", VIPS, vip("a"))
    await http.call("POST", VIPS, vip("b"))
    token = apiserver.add_token(rbac.User.service_account("floatip", "agent"))
    status_patch = {"status": {"holder": "x"}}
    merge = "application/merge-patch+json"
    assert (await http.call("GET", VIPS, token=token))[0] == 200
    assert (await http.call("POST", VIPS, vip("c"), token=token))[0] == 403
    assert (
        await http.call("PATCH", f"{VIPS}/a/status", status_patch, token=token, content_type=merge)
    )[0] == 200
    code, denied = await http.call(
        "PATCH", f"{VIPS}/b/status", status_patch, token=token, content_type=merge
    )
    assert (code, denied["reason"]) == (403, "Forbidden")
    assert "system:serviceaccount:floatip:agent" in denied["message"]
    assert (await http.call("PATCH", f"{VIPS}/a", {"spec": {}}, token=token, content_type=merge))[
        0
    ] == 403
    lease = {"metadata": {"name": "n1"}, "spec": {}}
    leases = "/apis/coordination.k8s.io/v1/namespaces/{}/leases"
    assert (await http.call("POST", leases.format("floatip"), lease, token=token))[0] == 201
    assert (await http.call("POST", leases.format("default"), lease, token=token))[0] == 403

    # decisions are remembered, and forgotten as soon as a role or binding changes
    edited = {"apiGroups": ["floatip.io"], "resources": ["virtualips"], "verbs": ["create"]}
    code, role = await http.call("GET", f"{rbac_api}/clusterroles/vip-reader")
    role["rules"].append(edited)
    assert (await http.call("PUT", f"{rbac_api}/clusterroles/vip-reader", role))[0] == 200
    assert (await http.call("POST", VIPS, vip("c"), token=token))[0] == 201
    await http.call("DELETE", f"{rbac_api}/namespaces/floatip/rolebindings/leases")
    lease["metadata"]["name"] = "n2"
    assert (await http.call("POST", leases.format("floatip"), lease, token=token))[0] == 403


async def test_a_change_is_encoded_once_for_every_watcher_and_bursts_arrive_whole(
    apiserver: RunningServer,
    http: Any,
) -> None:
    """The watch cache's cachingObject: one encoding per event and served shape, whatever the
    number of watchers; changes queued while a watcher was busy all arrive, in order."""
    watchers = [asyncio.create_task(_watch(http, "resourceVersion=1", 30)) for _ in range(5)]
    while apiserver.api.store.watcher_count < 5:  # noqa: ASYNC110 (polling server state)
        await asyncio.sleep(0.01)
    await asyncio.gather(*(http.call("POST", VIPS, vip(f"v{i}")) for i in range(30)))
    results = await asyncio.gather(*watchers)
    names = [[e["object"]["metadata"]["name"] for e in r] for r in results]
    assert all(sorted(n) == sorted(f"v{i}" for i in range(30)) for n in names)
    assert all(r == results[0] for r in results), "every watcher sees the same lines"
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in results[0]]
    assert revisions == sorted(revisions)
    encoded = [k for k in apiserver.api.store.encoded if k[0] in set(revisions)]
    assert len(encoded) == 30, "each change encoded once for the five watchers"


async def test_faults_down_hang_latency_drop_watches_and_restart_keeping_state(
    apiserver: RunningServer,
    http: Any,
) -> None:
    await http.call("POST", VIPS, vip("a"))
    watch = asyncio.create_task(_watch(http, "resourceVersion=1", 99))
    while apiserver.api.store.watcher_count < 1:  # noqa: ASYNC110 (polling server state)
        await asyncio.sleep(0.01)
    assert apiserver.drop_watches() == 1
    assert [e["type"] for e in await watch] == ["ADDED"]  # the stream ended
    await apiserver.down()
    try:
        await http.call("GET", f"{VIPS}/a")
        raise AssertionError("a down server answered")
    except aiohttp.ClientConnectionError:
        pass
    await apiserver.up()
    assert (await http.call("GET", f"{VIPS}/a"))[0] == 200
    apiserver.hang()
    pending = asyncio.create_task(http.call("GET", f"{VIPS}/a"))
    done, _ = await asyncio.wait({pending}, timeout=0.3)
    assert not done  # accepted but never answered while hanging
    apiserver.heal()
    assert (await pending)[0] == 200
    apiserver.set_latency(0.2)
    loop = asyncio.get_running_loop()
    before = loop.time()
    await http.call("GET", f"{VIPS}/a")
    assert loop.time() - before >= 0.2
    apiserver.heal()
    rv = apiserver.api.store.revision
    await apiserver.restart()
    _, obj = await http.call("GET", f"{VIPS}/a")
    assert obj["metadata"]["name"] == "a" and apiserver.api.store.revision == rv


async def test_hold_keeps_matching_writes_pending_until_released_or_dropped(
    apiserver: RunningServer, http: Any
) -> None:
    await http.call("POST", VIPS, vip("a"))
    merge = "application/merge-patch+json"
    op_a = apiserver.add_token(rbac.User("op-a", (rbac.MASTERS,)))
    hold = apiserver.hold("PATCH", f"{VIPS}/*/status", user="op-a")
    # another user's write to the same path is not held
    code, _ = await http.call(
        "PATCH", f"{VIPS}/a/status", {"status": {"holder": "x"}}, content_type=merge
    )
    assert code == 200 and hold.caught == []

    # op-a's write is held; its client goes away; released, it is applied all the same
    context = ssl.create_default_context(cadata=(apiserver.ca_pem or b"").decode())
    gone = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
    held = asyncio.create_task(
        gone.patch(
            apiserver.url + f"{VIPS}/a/status",
            data=json.dumps({"status": {"holder": "y"}}),
            headers={"Authorization": f"Bearer {op_a}", "Content-Type": merge},
        )
    )
    await asyncio.wait_for(hold.wait_caught(1), 10)
    assert [(c.method, c.path, c.user, c.body, c.code) for c in hold.caught] == [
        ("PATCH", f"{VIPS}/a/status", "op-a", {"status": {"holder": "y"}}, None)
    ]
    assert not held.done()
    _, obj = await http.call("GET", f"{VIPS}/a")
    assert obj["status"]["holder"] == "x", "a held write was applied before its release"
    held.cancel()
    await gone.close()
    hold.release()
    await asyncio.wait_for(hold.wait_answered(), 10)
    assert hold.caught[0].code == 200
    _, obj = await http.call("GET", f"{VIPS}/a")
    assert obj["status"]["holder"] == "y"
    # a released hold holds nothing more
    code, _ = await http.call(
        "PATCH", f"{VIPS}/a/status", {"status": {"holder": "z"}}, token=op_a, content_type=merge
    )
    assert code == 200

    # dropped: answered 503, never applied; count=1 holds only the first match
    hold = apiserver.hold("PATCH", f"{VIPS}/a/status", count=1)
    first = asyncio.create_task(
        http.call("PATCH", f"{VIPS}/a/status", {"status": {"holder": "lost"}}, content_type=merge)
    )
    await asyncio.wait_for(hold.wait_caught(1), 10)
    code, _ = await http.call(
        "PATCH", f"{VIPS}/a/status", {"status": {"holder": "second"}}, content_type=merge
    )
    assert code == 200 and len(hold.caught) == 1
    hold.drop()
    code, answer = await first
    assert (code, answer["reason"]) == (503, "ServiceUnavailable")
    _, obj = await http.call("GET", f"{VIPS}/a")
    assert obj["status"]["holder"] == "second"


async def test_hold_over_http_for_a_server_process(apiserver: RunningServer, http: Any) -> None:
    await http.call("POST", VIPS, vip("a"))
    rule = {"method": "PATCH", "path": f"{VIPS}/a/status", "count": 1}
    code, hold = await http.call("POST", "/_faults/holds", rule)
    assert (code, hold["fate"], hold["caught"]) == (201, None, [])
    merge = "application/merge-patch+json"
    write = asyncio.create_task(
        http.call("PATCH", f"{VIPS}/a/status", {"status": {"holder": "y"}}, content_type=merge)
    )
    await asyncio.wait_for(apiserver.api.faults.holds[hold["name"]].wait_caught(1), 10)
    _, seen = await http.call("GET", f"/_faults/holds/{hold['name']}")
    assert [(c["path"], c["user"], c["code"]) for c in seen["caught"]] == [
        (f"{VIPS}/a/status", "floatip-admin", None)
    ]
    _, ended = await http.call("POST", f"/_faults/holds/{hold['name']}/release")
    assert ended["fate"] == "release"
    assert (await write)[0] == 200
    _, seen = await http.call("GET", f"/_faults/holds/{hold['name']}")
    assert seen["caught"][0]["code"] == 200
    token = apiserver.add_token(rbac.User.service_account("floatip", "agent"))
    code, denied = await http.call("POST", "/_faults/holds", rule, token=token)
    assert (code, denied["reason"]) == (403, "Forbidden")


async def test_a_connection_whose_handshake_ends_after_down_is_not_served(
    apiserver: RunningServer,
) -> None:
    """A down server answers no one, also on a connection its listener accepted just before:
    its TLS handshake ends after the listener closed, so the connection is not among those the
    shutdown closed. Served, it would keep a kept-alive client (the lab's `api-down` wait, a
    kubelet-like poller) believing the server up while every new connection is refused."""
    reader, writer = await asyncio.open_connection(apiserver.host, apiserver.port)
    # The server runs in this event loop: it accepts while this test sleeps; the handshake
    # waits for a ClientHello, which comes only after the server went down.
    await asyncio.sleep(0.2)
    await apiserver.down()
    context = ssl.create_default_context(cadata=(apiserver.ca_pem or b"").decode())
    request = (f"GET /version HTTP/1.1\r\nHost: {apiserver.host}\r\n"
               f"Authorization: Bearer {apiserver.admin_token}\r\n\r\n").encode()  # fmt: skip
    try:
        await writer.start_tls(context, server_hostname=apiserver.host)
        writer.write(request)
        answer = await asyncio.wait_for(reader.readline(), timeout=5)  # b'': closed
    except (ssl.SSLError, ConnectionError):
        answer = b""
    finally:
        writer.close()
    assert answer == b"", f"a down server answered: {answer[:80]!r}"
    await apiserver.up()

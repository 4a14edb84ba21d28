"""What the operator's informers keep of an object (floatip_operator.informing).

Proves: managedFields are dropped and everything else is kept as it was; the keys and short
strings of two objects decoded apart are then the same string objects (interned), so 10,000
VirtualIPs share them; a newer copy replaces an older one, never the other way round; the
VirtualIPPools' informer failing forever (no pool CRD: 404) leaves the operator's API contact
as it was (it would otherwise stall every failover) and never counts as synced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from floatip.kube import client
from floatip_operator import informing, options, runtime


def _decoded(name: str, rv: str) -> dict[str, Any]:
    body = {
        "metadata": {
            "name": name,
            "resourceVersion": rv,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            "finalizers": ["floatip.io/release"],
        },
        "spec": {"address": "192.0.2.10/24"},
        "status": {
            "holder": "server1",
            "conditions": [{"type": "Ready", "status": "True", "message": "x" * 100}],
        },
    }
    decoded: dict[str, Any] = json.loads(json.dumps(body))  # its own strings, as a watch event
    return decoded


def test_managed_fields_go_and_the_rest_is_kept() -> None:
    obj = _decoded("web", "7")
    expected = json.loads(json.dumps(obj))
    del expected["metadata"]["managedFields"]
    slim = informing._slim(obj)
    assert slim is obj and obj == expected


def test_keys_and_short_strings_are_shared_between_objects() -> None:
    a, b = informing._slim(_decoded("a", "1")), informing._slim(_decoded("b", "2"))
    ready_a, ready_b = a["status"]["conditions"][0], b["status"]["conditions"][0]
    assert ready_a["status"] is ready_b["status"] and a["status"]["holder"] is b["status"]["holder"]
    assert next(iter(ready_a)) is next(iter(ready_b))  # the key "type"
    assert ready_a["message"] == ready_b["message"]  # long strings are kept, not interned


def test_only_a_newer_copy_replaces_the_stored_one() -> None:
    informer = informing.Informer(
        None,  # type: ignore[arg-type]  # put() never calls the API
        "/x",
        on_change=lambda: None,
        contact=informing.Contact(),
    )
    informer.put(_decoded("web", "9"))
    informer.put(_decoded("web", "8"))
    assert informer.store["web"]["metadata"]["resourceVersion"] == "9"
    informer.put(_decoded("web", "10"))
    assert informer.store["web"]["metadata"]["resourceVersion"] == "10"
    assert "managedFields" not in informer.store["web"]["metadata"]


class _Refusing:
    """An API that answers every request 404, as one without the VirtualIPPool CRD does."""

    def __init__(self) -> None:
        self.calls = 0
        self.retried = asyncio.Event()

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 2:
            self.retried.set()
        raise client.ApiError(
            404, "the server could not find the resource", method=method, path=path
        )


async def test_pools_failing_to_list_are_no_api_outage() -> None:
    api = _Refusing()
    rt = runtime.Runtime(options.Options(), api)  # type: ignore[arg-type]
    assert rt.pools.contact is None and rt.vips.contact is rt.contact
    task = asyncio.create_task(rt.pools.run())
    await asyncio.wait_for(api.retried.wait(), 5)  # a failure, the back-off, another
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert rt.contact.reachable and not rt.pools.synced.is_set()

"""What the operator's informers keep of an object (floatip_operator.informing).

Proves: managedFields are dropped and everything else is kept as it was; the keys and short
strings of two objects decoded apart are then the same string objects (interned), so 10,000
VirtualIPs share them; a newer copy replaces an older one, never the other way round.
"""

from __future__ import annotations

import json
from typing import Any

from floatip_operator import informing


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

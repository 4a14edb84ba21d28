"""CustomResourceDefinitions' lifecycle, as the apiextensions-apiserver runs it.

Proves: deleting a CRD marks it (deletionTimestamp, the customresourcecleanup finalizer, the
Terminating condition), deletes its objects while honouring their finalizers (the CRD waits),
refuses new objects with 405, and once the last object goes the CRD goes and its kinds are no
longer served (404, gone from discovery and from kubectl); a CRD in a ``*.k8s.io`` or
``*.kubernetes.io`` group needs the ``api-approved.kubernetes.io`` annotation (a URL or
"unapproved..."), else 422 worded as the real server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.kubectl_cli import run

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = "application/merge-patch+json"


def crd(group: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}", "annotations": annotations},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def widget(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, **meta}}


@pytest.mark.kubectl
async def test_deleting_a_crd_deletes_its_objects_honouring_finalizers_then_stops_serving(
    apiserver: RunningServer, http: Any
) -> None:
    assert (await http.call("POST", CRDS, crd("example.com")))[0] == 201
    assert (await http.call("POST", WIDGETS, widget("plain")))[0] == 201
    assert (await http.call("POST", WIDGETS, widget("held", finalizers=["example.com/x"])))[
        0
    ] == 201
    deleting = asyncio.ensure_future(
        run(apiserver.kubeconfig, "delete", "crd", "widgets.example.com", "--timeout=30s")
    )
    for _ in range(100):
        code, marked = await http.call("GET", f"{CRDS}/widgets.example.com")
        if marked["metadata"].get("deletionTimestamp"):
            break
        await asyncio.sleep(0.1)
    assert marked["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    terminating = [c for c in marked["status"]["conditions"] if c["type"] == "Terminating"]
    assert terminating and terminating[0]["status"] == "True"
    assert terminating[0]["reason"] == "InstanceDeletionInProgress"
    assert (await http.call("GET", f"{WIDGETS}/plain"))[0] == 404
    code, held = await http.call("GET", f"{WIDGETS}/held")
    assert code == 200 and held["metadata"]["deletionTimestamp"]
    code, status = await http.call("POST", WIDGETS, widget("late"))
    assert (code, status["reason"]) == (405, "MethodNotAllowed")
    assert "terminating" in status["message"]
    assert not deleting.done()
    await http.call(
        "PATCH", f"{WIDGETS}/held", {"metadata": {"finalizers": None}}, content_type=MERGE
    )
    code, out = await asyncio.wait_for(deleting, 30)
    assert code == 0, out
    assert (await http.call("GET", f"{CRDS}/widgets.example.com"))[0] == 404
    assert (await http.call("GET", WIDGETS))[0] == 404
    _, groups = await http.call("GET", "/apis")
    assert "example.com" not in [g["name"] for g in groups["groups"]]
    code, out = await run(apiserver.kubeconfig, "get", "widgets", "-A")
    assert code == 1, out  # kubectl's cached discovery may still name the kind: then a 404
    assert "doesn't have a resource type" in out or "could not find the requested resource" in out


async def test_crd_in_a_protected_group_needs_the_api_approved_annotation(http: Any) -> None:
    code, status = await http.call("POST", CRDS, crd("widgets.k8s.io"))
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["message"] == (
        'CustomResourceDefinition.apiextensions.k8s.io "widgets.widgets.k8s.io" is invalid: '
        "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups "
        'must have approval annotation "api-approved.kubernetes.io", see '
        "https://github.com/kubernetes/enhancements/pull/1111"
    )
    code, status = await http.call(
        "POST", CRDS, crd("x.kubernetes.io", **{"api-approved.kubernetes.io": "yes please"})
    )
    assert code == 422
    assert 'Invalid value: "yes please"' in status["message"]
    assert 'either a URL or a reason starting with "unapproved"' in status["message"]
    for group, value in (
        ("widgets.k8s.io", "unapproved, experimental"),
        ("x.kubernetes.io", "https://github.com/kubernetes/enhancements/pull/1111"),
    ):
        code, body = await http.call(
            "POST", CRDS, crd(group, **{"api-approved.kubernetes.io": value})
        )
        assert code == 201, body
    assert (await http.call("POST", CRDS, crd("k8s.example.com")))[0] == 201  # not protected

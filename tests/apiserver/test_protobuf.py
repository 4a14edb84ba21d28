"""Protobuf request bodies, as kubectl's typed commands send them to the real server.

Proves: ``kubectl create namespace``, ``create serviceaccount``, ``create clusterrole`` and
``create rolebinding`` (which send ``application/vnd.kubernetes.protobuf`` and do not fall back to
JSON) create the same objects JSON would; a protobuf body for a custom resource, which has no
protobuf form, is a 415 UnsupportedMediaType Status; a malformed one is a 400.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from floatip_apiserver import protokinds
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

pytestmark = pytest.mark.kubectl


@pytest.mark.parametrize(
    ("args", "path", "expect"),
    [
        (
            ["create", "namespace", "team"],
            "/api/v1/namespaces/team",
            {"metadata": {"name": "team"}},
        ),
        (
            ["create", "serviceaccount", "robot", "-n", "default"],
            "/api/v1/namespaces/default/serviceaccounts/robot",
            {"metadata": {"name": "robot", "namespace": "default"}},
        ),
        (
            ["create", "clusterrole", "reader", "--verb=get,list", "--resource=namespaces"],
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader",
            {"rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["namespaces"]}]},
        ),
        (
            ["create", "rolebinding", "read", "--clusterrole=reader", "--user=bob"],
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/read",
            {
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "reader",
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}
                ],
            },
        ),
    ],
    ids=["namespace", "serviceaccount", "clusterrole", "rolebinding"],
)
async def test_kubectl_create_sends_protobuf_which_the_server_reads_like_the_real_one(
    apiserver: RunningServer, http: Any, args: list[str], path: str, expect: dict[str, Any]
) -> None:
    code, out = await kubectl(apiserver, *args, "-v=7")
    assert code == 0, out
    assert "Content-Type: application/vnd.kubernetes.protobuf" in out  # what kubectl sent
    assert " created" in out
    code, obj = await http.call("GET", path)
    assert code == 200, obj
    for key, value in expect.items():
        if key == "metadata":
            assert value.items() <= obj["metadata"].items()
        else:
            assert obj[key] == value
    assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"]


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    def field(number: int, data: bytes) -> bytes:
        return bytes([(number << 3) | 2, len(data)]) + data

    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return b"k8s\x00" + field(1, type_meta) + field(2, raw)


async def _post_protobuf(http: Any, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {
        "Authorization": f"Bearer {http.token}",
        "Content-Type": "application/vnd.kubernetes.protobuf",
    }
    async with http.session.post(http.server.url + path, data=body, headers=headers) as response:
        return response.status, json.loads(await response.read())


async def test_protobuf_body_for_a_custom_resource_is_415_unsupported_media_type(
    http: Any,
) -> None:
    body = _envelope("floatip.io/v1alpha1", "VirtualIP", b"\x0a\x03\x0a\x01a")
    code, status = await _post_protobuf(http, "/apis/floatip.io/v1alpha1/virtualips", body)
    assert (code, status["kind"], status["reason"]) == (415, "Status", "UnsupportedMediaType")
    assert "application/json" in status["message"]


async def test_malformed_protobuf_body_is_400_bad_request(http: Any) -> None:
    body = _envelope("v1", "Namespace", b"\x0a\x7f\x0a")  # metadata claims 127 bytes, has 1
    code, status = await _post_protobuf(http, "/api/v1/namespaces", body)
    assert (code, status["reason"]) == (400, "BadRequest")


def test_protobuf_decoding_follows_go_json_omitempty_and_pointers() -> None:
    """Zero scalars vanish, pointer zeros stay, maps and IntOrString come out as JSON would."""
    meta = b"\x0a\x01a" + b"\x12\x00" + b"\x38\x00"  # name a, generateName "", generation 0
    labels = b"\x5a\x06\x0a\x01k\x12\x01v"
    service_port = b"\x18\x50" + b"\x22\x06\x08\x01\x1a\x02hi"  # port 80, targetPort "hi"
    spec = b"\x0a" + bytes([len(service_port)]) + service_port + b"\xa0\x01\x00"  # 20: false
    raw = b"\x0a" + bytes([len(meta + labels)]) + meta + labels
    raw += b"\x12" + bytes([len(spec)]) + spec
    obj = protokinds.decode(_envelope("v1", "Service", raw))
    assert obj == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "a", "labels": {"k": "v"}},
        "spec": {
            "ports": [{"port": 80, "targetPort": "hi"}],
            "allocateLoadBalancerNodePorts": False,
        },
    }

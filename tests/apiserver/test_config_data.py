"""ConfigMaps and Secrets as kube-apiserver validates and stores them.

Proves: a Secret's data must be base64 (400 from the decoder, as the real server answers),
``stringData`` is merged into ``data`` and never returned, ``type`` defaults to Opaque and may
not change, built-in types need their keys; keys of both kinds must be config keys;
``immutable`` freezes the data and itself; the 1 MiB limit; the ``type`` field selector; and
the tables ``kubectl get cm,secret`` prints.
"""

from __future__ import annotations

import base64
from typing import Any

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
SECRETS = "/api/v1/namespaces/default/secrets"
MERGE = "application/merge-patch+json"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_secret_data_is_base64_and_string_data_is_write_only(http: Any) -> None:
    body = {
        "metadata": {"name": "creds"},
        "data": {"user": b64("admin")},
        "stringData": {"password": "hunter2"},
    }
    code, created = await http.call("POST", SECRETS, body)
    assert code == 201, created
    assert created["data"] == {"user": b64("admin"), "password": b64("hunter2")}
    assert created["type"] == "Opaque" and "stringData" not in created
    code, got = await http.call("GET", f"{SECRETS}/creds")
    assert "stringData" not in got

    code, answer = await http.call(
        "POST", SECRETS, {"metadata": {"name": "bad"}, "data": {"k": "not base64!"}}
    )
    assert code == 400, answer
    assert answer["message"].startswith(
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3'
    )
    code, answer = await http.call("POST", SECRETS, {"metadata": {"name": "bad"}, "data": {"k": 5}})
    assert code == 400 and "cannot unmarshal" in answer["message"]
    code, answer = await http.call(
        "PATCH", f"{SECRETS}/creds", {"data": {"user": "%%%"}}, content_type=MERGE
    )
    assert code == 400 and "illegal base64 data at input byte 0" in answer["message"]


async def test_secret_types_keys_and_type_immutability(http: Any) -> None:
    cases = {
        "data[tls.key]: Required value": {
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64("c")},
        },
        "data[.dockerconfigjson]: Required value": {"type": "kubernetes.io/dockerconfigjson"},
        "metadata.annotations[kubernetes.io/service-account.name]: Required value": {
            "type": "kubernetes.io/service-account-token"
        },
        "data[username]: Required value": {"type": "kubernetes.io/basic-auth"},
        'data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters': {
            "data": {"bad key": b64("x")}
        },
    }
    for expected, fields in cases.items():
        code, answer = await http.call("POST", SECRETS, {"metadata": {"name": "s"}, **fields})
        assert code == 422 and expected in answer["message"], (expected, answer)
    tls = {
        "metadata": {"name": "tls"},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": "c", "tls.key": "k"},
    }
    code, _ = await http.call("POST", SECRETS, tls)
    assert code == 201
    code, answer = await http.call(
        "PATCH", f"{SECRETS}/tls", {"type": "Opaque"}, content_type=MERGE
    )
    assert code == 422
    assert (
        answer["message"]
        == 'Secret "tls" is invalid: type: Invalid value: "Opaque": field is immutable'
    )
    code, answer = await http.call("GET", f"{SECRETS}?fieldSelector=type=kubernetes.io/tls")
    assert [s["metadata"]["name"] for s in answer["items"]] == ["tls"]


async def test_configmap_keys_immutable_and_size_limit(http: Any) -> None:
    body = {
        "metadata": {"name": "conf"},
        "data": {"a": "1"},
        "binaryData": {"b": b64("\x00")},
        "immutable": True,
    }
    code, created = await http.call("POST", CONFIGMAPS, body)
    assert code == 201, created
    code, answer = await http.call(
        "PATCH", f"{CONFIGMAPS}/conf", {"data": {"a": "2"}}, content_type=MERGE
    )
    assert code == 422
    assert answer["message"] == (
        'ConfigMap "conf" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    code, answer = await http.call(
        "PATCH", f"{CONFIGMAPS}/conf", {"immutable": False}, content_type=MERGE
    )
    assert code == 422 and "immutable: Forbidden" in answer["message"]
    code, _ = await http.call(
        "PATCH", f"{CONFIGMAPS}/conf", {"metadata": {"labels": {"x": "y"}}}, content_type=MERGE
    )
    assert code == 200  # metadata stays writable

    cases = {
        "data[..]: Invalid value: \"..\": must not be '..'": {"data": {"..": "x"}},
        'data[a]: Invalid value: "a": duplicate of key present in binaryData': {
            "data": {"a": "x"},
            "binaryData": {"a": b64("y")},
        },
        "Too long: may not be more than 1048576 bytes": {"data": {"big": "x" * (1024 * 1024)}},
    }
    for expected, fields in cases.items():
        code, answer = await http.call("POST", CONFIGMAPS, {"metadata": {"name": "c"}, **fields})
        assert code == 422 and expected in answer["message"], (expected, answer)
    code, answer = await http.call(
        "POST", CONFIGMAPS, {"metadata": {"name": "c"}, "binaryData": {"b": "???"}}
    )
    assert code == 400 and "illegal base64 data" in answer["message"]


async def test_kubectl_get_configmaps_and_secrets_tables(
    apiserver: RunningServer, http: Any
) -> None:
    await http.call(
        "POST", CONFIGMAPS, {"metadata": {"name": "conf"}, "data": {"a": "1", "b": "2"}}
    )
    await http.call("POST", SECRETS, {"metadata": {"name": "creds"}, "stringData": {"p": "x"}})
    code, out = await kubectl(apiserver, "get", "cm,secret")
    assert code == 0, out
    blocks = [b.splitlines() for b in out.strip().split("\n\n")]
    assert blocks[0][0].split() == ["NAME", "DATA", "AGE"]
    assert blocks[0][1].split()[:2] == ["configmap/conf", "2"]
    assert blocks[1][0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert blocks[1][1].split()[:3] == ["secret/creds", "Opaque", "1"]

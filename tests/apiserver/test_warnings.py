"""The ``Warning`` header in the real server's format, so kubectl prints what it says.

Proves: ``kubectl apply --validate=warn`` with unknown fields prints each ``Warning: unknown field
"spec.x"`` (the texts carry quotes, which must be escaped in the header's quoted-string); over
HTTP every warning is its own ``299 - "..."`` header line; quotes and backslashes are escaped as
RFC 7230 says and duplicates are sent once; the OpenAPI PATCH operation advertises
``fieldValidation`` so kubectl does not fall back to "skipping validation".
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver import warningheaders
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

VIPS = "/apis/floatip.io/v1alpha1/virtualips"
MANIFEST = """apiVersion: floatip.io/v1alpha1
kind: VirtualIP
metadata:
  name: web
spec:
  address: 192.0.2.10
  colour: blue
  weight: 3
"""


@pytest.mark.kubectl
async def test_kubectl_validate_warn_prints_the_servers_unknown_field_warnings(
    apiserver: RunningServer,
) -> None:
    code, out = await kubectl(apiserver, "apply", "--validate=warn", "-f", "-", stdin=MANIFEST)
    assert code == 0, out
    assert 'Warning: unknown field "spec.colour"' in out
    assert 'Warning: unknown field "spec.weight"' in out
    assert "skipping validation" not in out  # the server says it takes fieldValidation


async def test_each_warning_is_its_own_299_header_with_escaped_quotes(http: Any) -> None:
    body = {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIP",
        "metadata": {"name": "web"},
        "spec": {"address": "192.0.2.10", "colour": "blue", "weight": 3},
    }
    async with http.session.post(
        f"{http.server.url}{VIPS}?fieldValidation=Warn",
        json=body,
        headers={"Authorization": f"Bearer {http.token}"},
    ) as response:
        assert response.status == 201
        assert response.headers.getall("Warning") == [
            '299 - "unknown field \\"spec.colour\\""',
            '299 - "unknown field \\"spec.weight\\""',
        ]


def test_warning_text_is_an_rfc7230_quoted_string_and_duplicates_go_once() -> None:
    assert warningheaders.header('a "b" c\\d') == '299 - "a \\"b\\" c\\\\d"'
    assert warningheaders.header("line\nbreak") == '299 - "line?break"'
    assert warningheaders.lines(["x", "y", "x"]) == ['299 - "x"', '299 - "y"']

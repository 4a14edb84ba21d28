"""The Service loop's pass does nothing, cheaply, where there is nothing of Services to do.

A cluster of plain VirtualIPs pokes the loop with every status change of each; a pass then
read and planned every VirtualIP for no Service at all. It must still run for a Service, and
for a VirtualIP of a Service that is gone (it is to be deleted).
"""

from __future__ import annotations

import types
from typing import Any

from floatip.api import services
from floatip_operator import servicewriting


def _writer(services_: dict[str, Any], vips: dict[str, Any]) -> servicewriting.ServiceWriter:
    def informer(store: dict[str, Any]) -> Any:
        return types.SimpleNamespace(store=store)

    return servicewriting.ServiceWriter(
        api=None, services_=informer(services_), pools=informer({}), vips=informer(vips),  # type: ignore[arg-type]
        namespaces=informer({}), elector=None, poster=None,  # type: ignore[arg-type]
        default_class=False, debounce_s=0.1,
    )  # fmt: skip


def _vip(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": {"address": "192.0.2.10"}}


def test_plain_virtualips_and_no_service_leave_the_loop_idle() -> None:
    vips = {"a": _vip("a"), "b": _vip("b", {"note": "x"})}
    assert _writer({}, vips).idle()
    assert _writer({}, {}).idle()


def test_a_service_or_a_virtualip_of_one_keeps_it_working() -> None:
    orphan = _vip("svc-default.web-v4", {services.SERVICES_ANNOTATION: "default/web"})
    assert not _writer({}, {"a": _vip("a"), orphan["metadata"]["name"]: orphan}).idle()
    service = {"metadata": {"name": "web", "namespace": "default"}}
    assert not _writer({"default/web": service}, {"a": _vip("a")}).idle()

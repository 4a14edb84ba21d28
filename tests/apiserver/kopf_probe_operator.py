"""A minimal kopf operator for ``test_kopf_operator.py``, run by ``kopf run`` in its own process.

Not a test module (pytest collects only ``test_*.py``). Each handler appends one line,
``<event> <name> <address>``, to the file named by ``FLOATIP_KOPF_PROBE_CALLS``, so the test
can count handler calls exactly from outside the process instead of parsing kopf's log.

kopf's defaults are kept (finalizer, progress and diff-base storage, event posting), because the
point is to prove that an unmodified kopf works against the test API server.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import kopf

GROUP, VERSION, PLURAL = "floatip.io", "v1alpha1", "virtualips"


def _record(event: str, name: str | None, spec: kopf.Spec) -> None:
    """Append one line per handler call; O_APPEND keeps lines whole if calls ever overlap."""
    calls = pathlib.Path(os.environ["FLOATIP_KOPF_PROBE_CALLS"])
    with calls.open("a", encoding="utf-8") as out:
        out.write(f"{event} {name} {spec.get('address')}\n")


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Short watch timeouts so a stuck watch shows up within the test's deadline, not minutes."""
    settings.watching.server_timeout = 10
    settings.watching.client_timeout = 15


@kopf.on.create(GROUP, VERSION, PLURAL)
def created(
    name: str | None, spec: kopf.Spec, body: kopf.Body, patch: kopf.Patch, **_: Any
) -> None:
    """Write holder/epoch through the status subresource: fields the CRD's status schema keeps.

    Also post a k8s Event: a cluster-scoped object's events go to the context's namespace.
    """
    _record("create", name, spec)
    kopf.info(body, reason="Probed", message=f"create handler ran for {name}")
    patch.status["holder"] = "probe-node"
    patch.status["epoch"] = 1


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def updated(name: str | None, spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
    """Bump the epoch so the test can see the update handler's status patch land too."""
    _record("update", name, spec)
    patch.status["epoch"] = 2


@kopf.on.delete(GROUP, VERSION, PLURAL)
def deleted(name: str | None, spec: kopf.Spec, **_: Any) -> None:
    """Only records: kopf removes its finalizer after this returns, which lets the object go."""
    _record("delete", name, spec)

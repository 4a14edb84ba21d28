"""The control-plane status report (floatip.api.controlplane, floatip_agent.controlplane
.publishing). Proves:

- the summary lists this node and its live peers only, with the holder and term;
- the Lease carries holder, term and the nodes; ``describe`` turns it back into one line,
  and copes with a Lease missing fields;
- the publisher creates the Lease on floatip's API server, then patches it (term and
  holder follow), writes nothing while not holding, and an unreachable API server costs one
  log line and a False, never an exception.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from floatip.api import controlplane
from floatip_agent.controlplane import publishing
from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver

__all__ = ["apiserver"]

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.UTC)


def state(*, role: str = "holder", term: int = 3) -> dict[str, Any]:
    return {
        "node": "cp1", "clusterId": "192.0.2.10:6443", "address": "192.0.2.10", "role": role,
        "healthy": True, "term": term,
        "peers": {
            "cp2": {"holding": False, "healthy": False, "live": True},
            "cp3": {"holding": False, "healthy": True, "live": False},
        },
    }  # fmt: skip


def test_summary_and_lease() -> None:
    summary = controlplane.summary(state())
    assert summary == {
        "holder": "cp1", "term": 3, "address": "192.0.2.10", "cluster": "192.0.2.10:6443",
        "nodes": {"cp1": {"role": "holder", "healthy": True},
                  "cp2": {"role": "backup", "healthy": False}},
    }  # fmt: skip
    assert controlplane.summary(state(role="backup"))["holder"] is None
    lease = controlplane.lease(summary, now=NOW)
    assert lease["spec"] == {
        "holderIdentity": "cp1",
        "leaseTransitions": 3,
        "renewTime": "2026-11-30T12:00:00.000000Z",
    }
    nodes = json.loads(lease["metadata"]["annotations"][controlplane.NODES])
    assert nodes["cp2"] == {"role": "backup", "healthy": False}
    later = NOW + datetime.timedelta(seconds=7)
    assert controlplane.describe(lease, now=later) == (
        "control-plane VIP 192.0.2.10: held by cp1 (term 3, reported 7 s ago); "
        "apiservers: cp1 ready, cp2 unready"
    )
    assert controlplane.describe({}, now=later) == "control-plane VIP ?: held by nobody (term 0)"


async def _lease(publisher: publishing.Publisher) -> dict[str, Any]:
    """The Lease as the API server has it (an async GET: the server runs on this loop)."""
    return await publisher.api.request("GET", f"{publishing.PATH}/{controlplane.LEASE}")


async def test_publisher_creates_then_patches(apiserver: RunningServer) -> None:
    current = state()
    publisher = publishing.Publisher.from_kubeconfig(
        str(apiserver.kubeconfig), state=lambda: current
    )
    try:
        assert await publisher.publish(controlplane.summary(current))
        assert (await _lease(publisher))["spec"]["holderIdentity"] == "cp1"
        current = state(term=4)
        assert await publisher.publish(controlplane.summary(current))
        lease = await _lease(publisher)
        assert lease["spec"]["leaseTransitions"] == 4
        assert lease["metadata"]["annotations"][controlplane.ADDRESS] == "192.0.2.10"
    finally:
        await publisher.api.close()


async def test_unreachable_api_is_a_false_not_an_error() -> None:
    from floatip.kube import client, config

    endpoint = config.Endpoint(server="https://127.0.0.1:1", tokens=config.TokenSource("t", None))
    publisher = publishing.Publisher(
        client.Api(endpoint, request_timeout_s=0.5, connect_timeout_s=0.5), state=state
    )
    try:
        assert not await publisher.publish(controlplane.summary(state()))
        assert not await publisher.publish(controlplane.summary(state()))
    finally:
        await publisher.api.close()

"""Leader election: one active replica, through the coordination Lease ``floatip-operator``.

Why a Lease and not kopf's peering: peering needs kopf's own CRDs (KopfPeering) and lets every
replica run handlers until it notices the others; a Lease is a standard object, visible with
``kubectl get lease -n floatip``, and it gates exactly one thing: who may write VirtualIP
status. Standbys keep their caches and polls warm, so a takeover starts from a full picture.

Timing (client-go's scheme, by this process's own monotonic clock, so clock skew between
replicas does not matter): the leader renews every ``duration/3`` and stops acting when it has
not renewed for ``2*duration/3``; a standby takes over when the Lease record has not changed
for ``duration``. With the default 6 s a standby takes over within about 6-8 s of a crash
(immediately on a clean shutdown, which releases the Lease) and the Lease costs one write
every 2 s for the whole cluster, whatever the number of nodes.

``judge`` is the pure part; :class:`Elector` does the I/O.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
from collections.abc import Callable, Mapping
from typing import Any

from floatip import logs
from floatip.api import times
from floatip.kube import client, paths

log = logs.get(__name__)

LEASE_NAME = "floatip-operator"


class Action(enum.StrEnum):
    RENEW = "renew"  # we hold it: renew
    ACQUIRE = "acquire"  # free or expired: take it
    WAIT = "wait"  # someone else holds it and renews


def judge(
    spec: Mapping[str, Any] | None, *, me: str, unchanged_for_s: float, duration_s: float
) -> Action:
    """What to do with the Lease ``spec`` seen unchanged for ``unchanged_for_s`` seconds."""
    if spec is None:
        return Action.ACQUIRE
    holder = spec.get("holderIdentity")
    if holder == me:
        return Action.RENEW
    if not holder or unchanged_for_s >= duration_s:
        return Action.ACQUIRE
    return Action.WAIT


@dataclasses.dataclass
class Elector:
    """Keeps ``is_leader`` true only while this replica holds a fresh Lease."""

    api: client.Api
    namespace: str
    identity: str
    duration_s: int = 6
    on_change: Callable[[bool], None] = lambda leader: None
    leading: bool = False
    _renewed_at: float = 0.0
    _seen: object = None
    _seen_at: float = 0.0

    @property
    def path(self) -> str:
        return paths.leases(self.namespace)

    @property
    def is_leader(self) -> bool:
        """True only while the last renewal is recent enough (checked at every use)."""
        if self.leading and time.monotonic() - self._renewed_at > self.duration_s * 2 / 3:
            self._set(False, why="renewal overdue")
        return self.leading

    def _set(self, leading: bool, *, why: str) -> None:
        if leading != self.leading:
            self.leading = leading
            log.info("leadership", leader=leading, identity=self.identity, why=why)
            self.on_change(leading)

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except client.ApiError as exc:
                log.info("leader election retrying", error=str(exc))
            _ = self.is_leader  # steps down when renewals fail for too long
            await asyncio.sleep(self.duration_s / 3)

    async def step(self) -> None:
        now = time.monotonic()
        try:
            lease: dict[str, Any] | None = await self.api.request(
                "GET", f"{self.path}/{LEASE_NAME}"
            )
        except client.ApiError as exc:
            if not exc.not_found:
                raise
            lease = None
        spec = None if lease is None else lease.get("spec", {})
        record = None if spec is None else (spec.get("holderIdentity"), spec.get("renewTime"))
        if record != self._seen:
            self._seen, self._seen_at = record, now
        action = judge(
            spec, me=self.identity, unchanged_for_s=now - self._seen_at, duration_s=self.duration_s
        )
        if action is Action.WAIT:
            self._set(False, why=f"held by {spec and spec.get('holderIdentity')}")
            return
        stamp = times.micro_time(times.now())
        body_spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration_s,
            "renewTime": stamp,
        }
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": LEASE_NAME, "namespace": self.namespace},
                "spec": body_spec | {"acquireTime": stamp, "leaseTransitions": 0},
            }
            await self.api.request("POST", self.path, body=body)
        else:
            old = lease.get("spec", {})
            if action is Action.ACQUIRE:
                body_spec |= {
                    "acquireTime": stamp,
                    "leaseTransitions": int(old.get("leaseTransitions") or 0) + 1,
                }
            else:
                body_spec |= {k: old[k] for k in ("acquireTime", "leaseTransitions") if k in old}
            lease["spec"] = body_spec
            await self.api.request("PUT", f"{self.path}/{LEASE_NAME}", body=lease)
        self._renewed_at = now
        self._seen = (self.identity, stamp)
        self._seen_at = now
        self._set(True, why=action.value)

    async def release(self) -> None:
        """On a clean shutdown: hand the Lease back so a standby takes over at once."""
        if not self.leading:
            return
        self._set(False, why="shutting down")
        try:
            lease = await self.api.request("GET", f"{self.path}/{LEASE_NAME}")
            if lease.get("spec", {}).get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = None
                await self.api.request("PUT", f"{self.path}/{LEASE_NAME}", body=lease)
        except client.ApiError as exc:
            log.info("leader lease not released", error=str(exc))

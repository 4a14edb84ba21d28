"""The operator's settings, from the command line, in one frozen value every part reads."""

from __future__ import annotations

import dataclasses

from floatip_operator import liveness


@dataclasses.dataclass(frozen=True)
class Options:
    namespace: str = "floatip"
    kubeconfig: str | None = None
    identity: str = "floatip-operator"
    profile: str = "default"
    metrics_port: int = 0
    metrics_host: str = "0.0.0.0"
    #: The leader Lease's duration (the leader renews every third of it).
    leader_lease_seconds: int = 12
    #: How long deletion waits for an alive holder to release the address before giving up.
    delete_timeout_seconds: float = 30.0
    #: Changes arriving within this window are decided together.
    debounce_seconds: float = 0.02
    #: Serve Services of type LoadBalancer with no loadBalancerClass too (docs/services.md).
    services_default_class: bool = True

    @property
    def policy(self) -> liveness.PollPolicy:
        return liveness.PROFILES[self.profile]

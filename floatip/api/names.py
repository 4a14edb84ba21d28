"""Names that identify the VirtualIP and VirtualIPPool API on the wire and in the cluster.

Kept apart from the model so that adapters (the operator's kopf handlers, the agent's
watch, the lab) can name the resource without importing pydantic.
"""

from __future__ import annotations

from typing import Final

GROUP: Final = "floatip.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "VirtualIP"
LIST_KIND: Final = "VirtualIPList"
PLURAL: Final = "virtualips"
SINGULAR: Final = "virtualip"
SHORT_NAMES: Final = ("vip",)
CATEGORIES: Final = ("floatip",)
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

# VirtualIPPool: addresses floatip hands out to Services of type LoadBalancer (issue 16).
POOL_KIND: Final = "VirtualIPPool"
POOL_LIST_KIND: Final = "VirtualIPPoolList"
POOL_PLURAL: Final = "virtualippools"
POOL_SINGULAR: Final = "virtualippool"
POOL_SHORT_NAMES: Final = ("vippool",)
POOL_CRD_NAME: Final = f"{POOL_PLURAL}.{GROUP}"
#: On a VirtualIP: the name of the pool floatip allocated its address from. Allocation (issue 16,
#: item 3) sets it on every VirtualIP it creates; nothing sets it yet. A VirtualIP without it,
#: or naming another pool, is *standalone* as far as a pool is concerned: when its address lies
#: in the pool, the pool reports Overlap (OverlapsVirtualIP), since the address is taken and
#: the allocator must never hand it out. People do not set it.
POOL_LABEL: Final = f"{GROUP}/pool"

#: Marks an address the agent added, so that it is told apart from the node's own addresses
#: and from other software's (``IFA_PROTO``; values 0-4 are the kernel's and iproute2's).
ADDRESS_PROTO: Final = 99
#: Marks the control-plane VIP that ``floatip-control-plane-agent`` added: a value of its own,
#: so the node agent's restart (which removes its stale ``ADDRESS_PROTO`` addresses) never
#: touches the apiserver's endpoint, and the control-plane agent never touches a VirtualIP's.
CONTROL_PLANE_ADDRESS_PROTO: Final = 98

#: A node with this label (any value) holds no VirtualIP: the drain switch, like MetalLB's
#: ``node.kubernetes.io/exclude-from-external-load-balancers``.
DRAIN_LABEL: Final = "floatip.io/drain"

FINALIZER: Final = "floatip.io/release"

# The agent's Lease (docs/design/protocol.md "The agent's Lease"): the agent writes these, the
# operator and the other agents read them, so both sides take them from here.
AGENT_LEASE_PREFIX: Final = "floatip-agent-"
ENDPOINT_ANNOTATION: Final = "floatip.io/endpoint"
INTERFACES_ANNOTATION: Final = "floatip.io/interfaces"
MACS_ANNOTATION: Final = "floatip.io/macs"
#: Written on a clean stop: until this time the operator does not fail the node's addresses
#: over for its failed probes (a DaemonSet rolling update); cleared by a later renewal.
RESTARTING_ANNOTATION: Final = "floatip.io/restarting-until"

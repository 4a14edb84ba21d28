"""Services of type LoadBalancer: the names floatip reads on them and writes for them (issue 16).

Written once, here, so that the operator, ``kubectl vip``, the docs and the tests agree
(docs/services.md). A Service is floatip's when it is ``type: LoadBalancer`` and its
``spec.loadBalancerClass`` is `CLASS`, or it has no class and the operator serves class-less
Services (``--services-default-class``, chart value ``services.defaultClass``).

Each address floatip allocates to a Service is a VirtualIP, the durable allocation record:
named by `vip_name` from the Service and the family, labelled `names.POOL_LABEL` with its pool
and `SERVICE_LABEL` with `service_hash` of the Service (a label value holds 63 characters at
most, a namespace and a name 126), and annotated `SERVICES_ANNOTATION` with the Service's full
``namespace/name``. A VirtualIP is cluster-scoped and a Service namespaced, so no
ownerReference can link them (Kubernetes' garbage collector refuses owners of a narrower
scope): the link is these labels and `FINALIZER` on the Service, which the operator removes
only after the Service's VirtualIPs are deleted.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from floatip.api import names

#: ``spec.loadBalancerClass`` of the Services floatip serves.
CLASS: Final = f"{names.GROUP}/l2"
LOAD_BALANCER: Final = "LoadBalancer"

# -- what a Service asks for (annotations people write) ------------------------------------------
#: Comma-separated addresses, at most one per family (MetalLB's ``metallb.io/loadBalancerIPs``).
ADDRESSES_ANNOTATION: Final = f"{names.GROUP}/addresses"
#: The name of the VirtualIPPool to draw from (MetalLB's ``metallb.io/address-pool``).
POOL_ANNOTATION: Final = f"{names.GROUP}/pool"
#: Services of one namespace with the same key share one address when their ports do not
#: overlap and their traffic policies agree (MetalLB's ``metallb.io/allow-shared-ip``). floatip
#: also writes it on the shared VirtualIP, so a restarted operator finds the key's address.
SHARING_KEY_ANNOTATION: Final = f"{names.GROUP}/sharing-key"

# -- what floatip writes -------------------------------------------------------------------------
#: On the Service, until its VirtualIPs are deleted (the link no ownerReference can make).
FINALIZER: Final = f"{names.GROUP}/load-balancer"
#: On a VirtualIP: `service_hash` of the Service it was allocated to (for selection).
SERVICE_LABEL: Final = f"{names.GROUP}/service"
#: On a VirtualIP: ``namespace/name`` of the Service(s) it was allocated to, comma-separated.
SERVICES_ANNOTATION: Final = f"{names.GROUP}/services"
#: ``status.loadBalancer.ingress[].ipMode``: traffic arrives addressed to the VIP itself.
IP_MODE: Final = "VIP"
#: The Service's IP families as ``spec.ipFamilies`` names them, and as `vip_name` suffixes.
FAMILIES: Final = {"IPv4": 4, "IPv6": 6}

# -- what floatip reads of the cluster's endpoints -------------------------------------------------
#: ``spec.externalTrafficPolicy`` that confines the address to nodes with a ready endpoint.
LOCAL: Final = "Local"
#: The label of an EndpointSlice (discovery.k8s.io/v1) naming its Service (in its namespace).
SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"


class ConditionType(enum.StrEnum):
    """``status.conditions[].type`` floatip writes on a Service: domain-qualified, because a
    Service's conditions are shared with every other controller that serves it."""

    ALLOCATED = f"{names.GROUP}/Allocated"
    ANNOUNCED = f"{names.GROUP}/Announced"


class Reason(enum.StrEnum):
    """Reasons of the Service's conditions; the Event reasons are `EventReason`."""

    ALLOCATED = "Allocated"
    #: The address is no longer in its pool (the pool was edited or deleted): kept anyway.
    OUTSIDE_POOL = "AddressOutsidePool"
    POOL_EXHAUSTED = "PoolExhausted"
    ADDRESS_TAKEN = "AddressTaken"
    NOT_IN_ANY_POOL = "AddressNotInAnyPool"
    POOL_UNKNOWN = "PoolUnknown"
    POOL_NOT_ALLOWED = "PoolNotAllowed"
    NO_POOL = "NoPool"
    INVALID_REQUEST = "InvalidRequest"
    NAME_TAKEN = "NameTaken"
    #: Its sharing key's address is another Service's, and the two cannot share it.
    SHARING_REFUSED = "SharingRefused"
    #: A foreign host answered the probe for the address before any node took it: reserved,
    #: never handed out (no ingress) until a probe finds it free.
    IN_USE_ON_WIRE = "AddressInUseOnWire"
    ANNOUNCED = "Announced"
    PENDING = "AnnouncementPending"


class EventReason(enum.StrEnum):
    """Events regarding a Service (in its namespace, so ``kubectl describe svc`` lists them)."""

    ALLOCATED = "IPAllocated"
    ALLOCATION_FAILED = "AllocationFailed"
    RELEASED = "IPReleased"
    OUTSIDE_POOL = "AddressOutsidePool"
    #: A foreign host answered the take's probe of an address the Service asked for none of
    #: and was never shown: released, and another chosen (docs/services.md).
    IN_USE_ON_WIRE = "AddressInUseOnWire"


def key(namespace: str, name: str) -> str:
    """A Service's key, ``namespace/name``: how floatip names it in annotations and logs."""
    return f"{namespace}/{name}"


def listed(annotations: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The Service keys a VirtualIP's `SERVICES_ANNOTATION` lists (comma-separated), in order."""
    text = (annotations or {}).get(SERVICES_ANNOTATION) or ""
    return tuple(part.strip() for part in str(text).split(",") if part.strip())


def service_hash(service_key: str) -> str:
    """A label value naming one Service: 20 hex digits of the SHA-256 of its key."""
    return hashlib.sha256(service_key.encode()).hexdigest()[:20]


def vip_name(namespace: str, name: str, version: int) -> str:
    """The VirtualIP holding a Service's address of IP version ``version``.

    ``svc-NAMESPACE.NAME-v4``: the dot cannot occur in a namespace or a Service name (DNS
    labels), so no two Services share a name; at most 136 characters, within the 253 of a
    VirtualIP name. Deterministic, so that a restarted operator finds what it made.
    """
    return f"svc-{namespace}.{name}-v{version}"

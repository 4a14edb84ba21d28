"""Field tables of the built-in kinds clients send in protobuf (see :mod:`protowire`).

Field numbers and JSON names come from k8s.io/api and k8s.io/apimachinery ``generated.proto``.
Only kinds a typed client creates are here: what kubectl's ``create`` subcommands, ``auth can-i``,
``auth whoami`` and ``create token`` send. Add a kind by adding its messages and a ``KINDS`` row.
"""

from __future__ import annotations

from typing import Any

from floatip_apiserver import protowire
from floatip_apiserver.protowire import Field, Message

F = Field
_META = F("metadata", "ObjectMeta")

MESSAGES: dict[str, Message] = {
    # ---- meta/v1 --------------------------------------------------------------------------
    "ObjectMeta": {
        1: F("name"),
        2: F("generateName"),
        3: F("namespace"),
        4: F("selfLink"),
        5: F("uid"),
        6: F("resourceVersion"),
        7: F("generation", "int"),
        8: F("creationTimestamp", "time"),
        9: F("deletionTimestamp", "time", pointer=True),
        10: F("deletionGracePeriodSeconds", "int", pointer=True),
        11: F("labels", "map"),
        12: F("annotations", "map"),
        13: F("ownerReferences", "OwnerReference", repeated=True),
        14: F("finalizers", repeated=True),
    },
    "OwnerReference": {
        5: F("apiVersion"),
        1: F("kind"),
        3: F("name"),
        4: F("uid"),
        6: F("controller", "bool", pointer=True),
        7: F("blockOwnerDeletion", "bool", pointer=True),
    },
    "LabelSelector": {
        1: F("matchLabels", "map"),
        2: F("matchExpressions", "Requirement", repeated=True),
    },
    "Requirement": {1: F("key"), 2: F("operator"), 3: F("values", repeated=True)},
    # ---- core/v1 --------------------------------------------------------------------------
    "Namespace": {1: _META, 2: F("spec", "NamespaceSpec"), 3: F("status", "NamespaceStatus")},
    "NamespaceSpec": {1: F("finalizers", repeated=True)},
    "NamespaceStatus": {1: F("phase"), 2: F("conditions", "NamespaceCondition", repeated=True)},
    "NamespaceCondition": {
        1: F("type"),
        2: F("status"),
        4: F("lastTransitionTime", "time"),
        5: F("reason"),
        6: F("message"),
    },
    "ServiceAccount": {
        1: _META,
        2: F("secrets", "ObjectReference", repeated=True),
        3: F("imagePullSecrets", "LocalObjectReference", repeated=True),
        4: F("automountServiceAccountToken", "bool", pointer=True),
    },
    "ObjectReference": {
        1: F("kind"),
        2: F("namespace"),
        3: F("name"),
        4: F("uid"),
        5: F("apiVersion"),
        6: F("resourceVersion"),
        7: F("fieldPath"),
    },
    "LocalObjectReference": {1: F("name")},
    "ConfigMap": {
        1: _META,
        2: F("data", "map"),
        3: F("binaryData", "map:bytes"),
        4: F("immutable", "bool", pointer=True),
    },
    "Secret": {
        1: _META,
        2: F("data", "map:bytes"),
        3: F("type"),
        4: F("stringData", "map"),
        5: F("immutable", "bool", pointer=True),
    },
    "Service": {1: _META, 2: F("spec", "ServiceSpec")},
    "ServiceSpec": {
        1: F("ports", "ServicePort", repeated=True),
        2: F("selector", "map"),
        3: F("clusterIP"),
        18: F("clusterIPs", repeated=True),
        4: F("type"),
        5: F("externalIPs", repeated=True),
        7: F("sessionAffinity"),
        8: F("loadBalancerIP"),
        9: F("loadBalancerSourceRanges", repeated=True),
        10: F("externalName"),
        11: F("externalTrafficPolicy"),
        12: F("healthCheckNodePort", "int"),
        13: F("publishNotReadyAddresses", "bool"),
        19: F("ipFamilies", repeated=True),
        17: F("ipFamilyPolicy", pointer=True),
        20: F("allocateLoadBalancerNodePorts", "bool", pointer=True),
        21: F("loadBalancerClass", pointer=True),
        22: F("internalTrafficPolicy", pointer=True),
        23: F("trafficDistribution", pointer=True),
    },
    "ServicePort": {
        1: F("name"),
        2: F("protocol"),
        6: F("appProtocol", pointer=True),
        3: F("port", "int"),
        4: F("targetPort", "intorstr"),
        5: F("nodePort", "int"),
    },
    # ---- rbac.authorization.k8s.io/v1 ------------------------------------------------------
    "PolicyRule": {
        1: F("verbs", repeated=True),
        2: F("apiGroups", repeated=True),
        3: F("resources", repeated=True),
        4: F("resourceNames", repeated=True),
        5: F("nonResourceURLs", repeated=True),
    },
    "AggregationRule": {1: F("clusterRoleSelectors", "LabelSelector", repeated=True)},
    "Role": {1: _META, 2: F("rules", "PolicyRule", repeated=True)},
    "ClusterRole": {
        1: _META,
        2: F("rules", "PolicyRule", repeated=True),
        3: F("aggregationRule", "AggregationRule"),
    },
    "RoleBinding": {
        1: _META,
        2: F("subjects", "Subject", repeated=True),
        3: F("roleRef", "RoleRef"),
    },
    "Subject": {1: F("kind"), 2: F("apiGroup"), 3: F("name"), 4: F("namespace")},
    "RoleRef": {1: F("apiGroup"), 2: F("kind"), 3: F("name")},
    # ---- authorization.k8s.io/v1 -----------------------------------------------------------
    "SelfSubjectAccessReview": {1: _META, 2: F("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {
        1: F("resourceAttributes", "ResourceAttributes"),
        2: F("nonResourceAttributes", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: F("namespace"),
        2: F("verb"),
        3: F("group"),
        4: F("version"),
        5: F("resource"),
        6: F("subresource"),
        7: F("name"),
        8: F("fieldSelector", "SelectorAttributes"),
        9: F("labelSelector", "SelectorAttributes"),
    },
    "SelectorAttributes": {
        1: F("rawSelector"),
        2: F("requirements", "Requirement", repeated=True),
    },
    "NonResourceAttributes": {1: F("path"), 2: F("verb")},
    "SelfSubjectRulesReview": {1: _META, 2: F("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: F("namespace")},
    "SubjectAccessReview": {1: _META, 2: F("spec", "SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {
        1: F("resourceAttributes", "ResourceAttributes"),
        2: F("nonResourceAttributes", "NonResourceAttributes"),
        3: F("user"),
        4: F("groups", repeated=True),
        5: F("extra", "map:strings"),
        6: F("uid"),
    },
    # ---- authentication.k8s.io/v1 ----------------------------------------------------------
    "SelfSubjectReview": {1: _META},
    "TokenRequest": {1: _META, 2: F("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {
        1: F("audiences", repeated=True),
        4: F("expirationSeconds", "int", pointer=True),
        3: F("boundObjectRef", "BoundObjectReference"),
    },
    "BoundObjectReference": {1: F("kind"), 2: F("apiVersion"), 3: F("name"), 4: F("uid")},
}

# (apiVersion, kind) -> message; the same message serves each kind that shares its shape.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Service"): "Service",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "SubjectAccessReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
}


def decode(body: bytes) -> Any:
    """A protobuf request body as JSON; 415 for a kind not in these tables."""
    return protowire.decode(body, KINDS, MESSAGES)

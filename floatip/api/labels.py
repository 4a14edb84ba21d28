"""Kubernetes label and name syntax, and label-selector matching.

The rules are those of ``k8s.io/apimachinery/pkg/util/validation`` (``IsQualifiedName``,
``IsValidLabelValue``, ``IsDNS1123Subdomain``) and ``metav1.LabelSelector`` semantics, written
as pure functions so that the operator, ``floatip validate`` and the CRD schema agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

#: One label-name segment: 63 characters at most, alphanumeric at both ends.
NAME_SEGMENT_PATTERN: Final = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#: A DNS-1123 label: a VirtualIP group's name (63 characters at most).
DNS_LABEL_PATTERN: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#: A DNS-1123 subdomain: node names, label prefixes (253 characters at most).
DNS_SUBDOMAIN_PATTERN: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*"

#: A whole qualified label key, ``[prefix/]name`` (the prefix's 253-character bound is separate).
LABEL_KEY_PATTERN: Final = (
    rf"^({DNS_SUBDOMAIN_PATTERN}/)?([A-Za-z0-9][-A-Za-z0-9_.]{{0,61}})?[A-Za-z0-9]$"
)
#: A label value: empty, or a name segment of 63 characters at most.
LABEL_VALUE_PATTERN: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

_NAME_SEGMENT_RE = re.compile(f"^{NAME_SEGMENT_PATTERN}$")
_DNS_SUBDOMAIN_RE = re.compile(f"^{DNS_SUBDOMAIN_PATTERN}$")
_DNS_LABEL_RE = re.compile(f"^{DNS_LABEL_PATTERN}$")

SELECTOR_OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")


def dns_subdomain_problem(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 subdomain (a valid node name), or None."""
    if not value:
        return "must not be empty"
    if len(value) > 253:
        return f"must be at most 253 characters (it has {len(value)})"
    if not _DNS_SUBDOMAIN_RE.match(value):
        return (
            f"{value!r} is not a valid node name: use lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def dns_label_problem(value: str, *, what: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label (``what`` names it: "group name"), or None."""
    if not value:
        return "must not be empty"
    if len(value) > 63:
        return f"must be at most 63 characters (it has {len(value)})"
    if not _DNS_LABEL_RE.match(value):
        return (
            f"{value!r} is not a valid {what}: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit (a DNS-1123 label)"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified label key (``[prefix/]name``), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"label key {key!r} has an empty prefix before '/'"
    if slash and (problem := dns_subdomain_problem(prefix)):
        return f"label key {key!r} has an invalid prefix: {problem}"
    if not name or len(name) > 63 or not _NAME_SEGMENT_RE.match(name):
        return (
            f"label key {key!r} is invalid: the name part must be 1-63 characters of letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value (empty is valid), or None."""
    if value and (len(value) > 63 or not _NAME_SEGMENT_RE.match(value)):
        return (
            f"label value {value!r} is invalid: at most 63 characters of letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def matches(
    labels: Mapping[str, str],
    *,
    match_labels: Mapping[str, str],
    match_expressions: Sequence[tuple[str, str, Sequence[str]]],
) -> bool:
    """Whether ``labels`` satisfy a LabelSelector (all terms ANDed; empty selects everything).

    ``match_expressions`` holds ``(key, operator, values)`` triples already validated.
    """
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for key, operator, values in match_expressions:
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True

"""Label and field selectors, parsed like ``k8s.io/apimachinery/pkg/labels``.

Controllers list and watch with ``labelSelector`` (``app=x,tier in (a,b),!legacy``) and kopf
and kubectl filter by ``fieldSelector=metadata.name=x``; a server that ignores them (kmock)
returns too much, and controllers then act on objects they must not touch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from floatip_apiserver import status

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=()]+)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_RE.match(text):
        key, op, raw = match.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_RE.match(text):
        negate, key = match.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise status.bad_request(
        f"unable to parse requirement: {text.strip()!r}: use key=value, key!=value, "
        "key in (a,b), key notin (a,b), key or !key"
    )


def label_selector(text: str | None) -> Predicate:
    """A predicate on objects for a ``labelSelector`` query parameter."""
    if not text:
        return lambda obj: True
    requirements = [_requirement(part) for part in _split(text)]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "metadata.name": lambda obj: str(obj.get("metadata", {}).get("name", "")),
    "metadata.namespace": lambda obj: str(obj.get("metadata", {}).get("namespace", "")),
}


def field_selector(
    text: str | None, extra: Mapping[str, Callable[[Mapping[str, Any]], str]] | None = None
) -> Predicate:
    """A predicate for ``fieldSelector``: metadata.name, metadata.namespace and ``extra``.

    ``extra`` is a kind's own selectable fields (``involvedObject.name`` of an Event,
    ``spec.nodeName`` of a Pod), as the real server's per-kind field label conversion allows.
    """
    if not text:
        return lambda obj: True
    known = {**_FIELDS, **(extra or {})}
    checks: list[Predicate] = []
    for part in _split(text):
        match = _EQ_RE.match(part)
        if not match or match.group(1) not in known:
            label = match.group(1) if match else part.strip()
            raise status.bad_request(
                f'field label not supported: "{label}": this kind can be selected by '
                + ", ".join(sorted(known))
                + " with =, == or !="
            )
        field, op, value = match.groups()
        getter = known[field]
        if op == "!=":
            checks.append(lambda obj, g=getter, v=value: g(obj) != v)  # type: ignore[misc]
        else:
            checks.append(lambda obj, g=getter, v=value: g(obj) == v)  # type: ignore[misc]
    return lambda obj: all(check(obj) for check in checks)


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels, matchExpressions) against labels; {} matches all.

    What admission policies' namespaceSelector and objectSelector are; the operators are
    ``In``, ``NotIn``, ``Exists`` and ``DoesNotExist``, as ``LabelSelectorAsSelector`` reads.
    """
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op = expression.get("key"), expression.get("operator")
        values = set(expression.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True

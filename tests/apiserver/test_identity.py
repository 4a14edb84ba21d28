"""identity.Cache: values kept by the identity of the objects they were derived from."""

from __future__ import annotations

from typing import Any

from floatip_apiserver import identity


def test_a_value_is_found_for_the_very_object_only() -> None:
    cache: identity.Cache[dict[str, Any], str] = identity.Cache(4)
    entry = {"f:spec": {}}
    cache.put(entry, "derived")
    assert cache.get(entry) == "derived"
    assert cache.get({"f:spec": {}}) is None  # equal, but another object


def test_the_cache_forgets_the_least_recently_used() -> None:
    cache: identity.Cache[dict[str, Any], str] = identity.Cache(2)
    a, b, c = ({"f:a": {}}, {"f:b": {}}, {"f:c": {}})
    cache.put(a, "a")
    cache.put(b, "b")
    assert cache.get(a) == "a"  # a is now the most recently used
    cache.put(c, "c")  # forgets b
    assert cache.get(a) == "a"
    assert cache.get(b) is None
    assert cache.get(c) == "c"
    assert len(cache) == 2


def test_a_false_value_is_a_value() -> None:
    cache: identity.Cache[dict[str, Any], bool] = identity.Cache(2)
    schema: dict[str, Any] = {"type": "object"}
    cache.put(schema, False)
    assert cache.get(schema) is False

"""Values derived from API objects, kept while their resourceVersion stays (floatip_operator.memo).

Proves: a value is derived once per version and again when the version changes; a missing
version (or one with a missing part) is never trusted; values of keys no longer there go.
"""

from __future__ import annotations

from floatip_operator import memo


def test_a_value_is_derived_again_only_when_its_version_changes() -> None:
    calls: list[str] = []
    kept: memo.Memo[str] = memo.Memo()

    def derive(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert kept.get("a", "1", lambda: derive("one")) == "ONE"
    assert kept.get("a", "1", lambda: derive("other")) == "ONE"  # same version: kept
    assert kept.get("a", "2", lambda: derive("two")) == "TWO"
    assert kept.get("a", None, lambda: derive("three")) == "THREE"  # no version: derived
    assert kept.get("a", ("2", None), lambda: derive("four")) == "FOUR"
    assert kept.get("a", "2", lambda: derive("five")) == "TWO"
    assert calls == ["one", "two", "three", "four"]
    kept.keep_only({"b"})
    assert kept.get("a", "2", lambda: derive("six")) == "SIX"


def test_version_is_the_resource_version_or_none() -> None:
    assert memo.version({"metadata": {"resourceVersion": "42"}}) == "42"
    assert memo.version({"metadata": {}}) is None
    assert memo.version({}) is None

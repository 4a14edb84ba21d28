"""The test API server's store (floatip_apiserver.store), without a server. Proves:

- `Store.since` answers, for every revision a watch may resume from, exactly the kept events
  after it of that kind (and namespace), in revision order, over any sequence of creates,
  updates and deletes across kinds and namespaces, also once the bounded history dropped its
  oldest events;
- a revision older than the kept history is 410 Expired.
"""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies as st

from floatip_apiserver import status
from floatip_apiserver.store import Event, Key, Store

KINDS: list[Key] = [("", "services"), ("discovery.k8s.io", "endpointslices")]
WRITE = st.tuples(st.sampled_from(KINDS), st.sampled_from(["a", "b"]), st.sampled_from("xyz"),
                  st.booleans())  # fmt: skip
WRITES = st.lists(WRITE, max_size=40)


def apply(store: Store, writes: list[tuple[Key, str, str, bool]]) -> None:
    for key, namespace, name, delete in writes:
        have = store.get(key, namespace, name)
        if delete and have is not None:
            store.remove(key, have)
            continue
        obj = {"metadata": {"namespace": namespace, "name": name}}
        obj["metadata"]["resourceVersion"] = str(store.next_revision())
        store.put(key, obj, "ADDED" if have is None else "MODIFIED")


def brute_force(history: list[Event], key: Key, namespace: str | None, rv: int) -> list[Event]:
    return [
        e for e in history
        if e.rv > rv and e.key == key
        and (namespace is None or e.obj["metadata"]["namespace"] == namespace)
    ]  # fmt: skip


@hypothesis.given(WRITES, st.integers(min_value=1, max_value=50))
def test_since_is_every_kept_event_after_the_revision(
    writes: list[tuple[Key, str, str, bool]], kept: int
) -> None:
    store = Store(history=kept)
    apply(store, writes)
    history = list(store._history)
    for rv in range(store.oldest_resumable(), store.revision + 1):
        for key in KINDS:
            for namespace in (None, "a", "b"):
                assert store.since(key, namespace, rv) == brute_force(history, key, namespace, rv)


def test_a_revision_older_than_the_history_is_expired() -> None:
    store = Store(history=3)
    apply(store, [(KINDS[0], "a", name, False) for name in "xyz"] * 2)
    assert store.oldest_resumable() > 1
    with pytest.raises(status.ApiError) as raised:
        store.since(KINDS[0], None, store.oldest_resumable() - 1)
    assert raised.value.status()["reason"] == "Expired"

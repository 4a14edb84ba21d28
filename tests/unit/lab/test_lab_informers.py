"""The lab stand-ins' work queue (floatip_lab.informers.Queue), as client-go's workqueue.

Proves: a key named twice before it is taken is taken once; a take hands over what was named
since the last and wakes the loop's event; after a (re)list everything is to be synced, once.
"""

from __future__ import annotations

import threading

from floatip_lab import informers


def test_a_key_named_twice_is_taken_once_and_a_relist_means_everything() -> None:
    changed = threading.Event()
    queue = informers.Queue(changed)
    assert queue.take() == (set(), False)
    queue.add([("default", "a"), ("default", "b")])
    queue.add([("default", "a")])
    assert changed.is_set()
    assert queue.take() == ({("default", "a"), ("default", "b")}, False)
    changed.clear()
    queue.add_everything()
    assert changed.is_set()
    assert queue.take() == (set(), True)
    assert queue.take() == (set(), False)

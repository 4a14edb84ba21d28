"""The finalizer's writes (floatip_operator.finalizing.guarded).

Proves: adding and removing ``floatip.io/release`` is one JSON patch whose ``test`` names the
finalizers read (null when there were none), so another controller's change of the list in
between refuses the write instead of being overwritten.
"""

from __future__ import annotations

from floatip.api import names
from floatip_operator import finalizing


def test_adding_to_no_finalizers_tests_that_there_are_none() -> None:
    assert finalizing.guarded(None, [names.FINALIZER]) == [
        {"op": "test", "path": "/metadata/finalizers", "value": None},
        {"op": "add", "path": "/metadata/finalizers", "value": [names.FINALIZER]},
    ]


def test_adding_and_removing_keep_the_others_and_test_the_list_read() -> None:
    held = ["example.com/other"]
    added = finalizing.guarded(held, [*held, names.FINALIZER])
    assert added[0] == {"op": "test", "path": "/metadata/finalizers", "value": held}
    assert added[1]["value"] == ["example.com/other", names.FINALIZER]
    removed = finalizing.guarded(added[1]["value"], held)
    assert removed[0]["value"] == ["example.com/other", names.FINALIZER]
    assert removed[1] == {"op": "add", "path": "/metadata/finalizers", "value": held}

"""Which labs are abandoned (`floatip_lab.orphans.abandoned`): every namespace of the lab idle
and older than the age limit; a lab with one process anywhere, or one young namespace, is
not; namespaces that are not a lab's are never named."""

from __future__ import annotations

from floatip_lab import orphans
from floatip_lab.orphans import Seen

NOW = 10_000.0
OLD = NOW - orphans.MIN_AGE_SECONDS - 1


def test_a_lab_with_no_process_and_no_young_namespace_is_abandoned() -> None:
    seen = [Seen("fip-lab-abc-switch", 0, OLD), Seen("fip-lab-abc-server1", 0, OLD)]
    assert orphans.abandoned(seen, now=NOW) == {
        "abc": ["fip-lab-abc-server1", "fip-lab-abc-switch"]
    }


def test_one_process_anywhere_keeps_the_whole_lab() -> None:
    seen = [Seen("fip-lab-abc-switch", 0, OLD), Seen("fip-lab-abc-api", 1, OLD)]
    assert orphans.abandoned(seen, now=NOW) == {}


def test_a_lab_being_built_is_kept() -> None:
    young = NOW - orphans.MIN_AGE_SECONDS + 1
    seen = [Seen("fip-lab-abc-switch", 0, OLD), Seen("fip-lab-abc-server1", 0, young)]
    assert orphans.abandoned(seen, now=NOW) == {}


def test_labs_are_judged_each_on_its_own() -> None:
    seen = [
        Seen("fip-lab-dead-server1", 0, OLD),
        Seen("fip-lab-live-server1", 3, OLD),
        Seen("fip-lab-live-switch", 0, OLD),
    ]
    assert orphans.abandoned(seen, now=NOW) == {"dead": ["fip-lab-dead-server1"]}


def test_names_that_are_not_a_labs_are_never_named() -> None:
    seen = [
        Seen("fip-123-lan0-a", 0, OLD),  # the test harness's (netns.cleanup_stale)
        Seen("fip-lab-", 0, OLD),
        Seen("fip-lab-notag", 0, OLD),
        Seen("somebody-elses", 0, OLD),
    ]
    assert orphans.abandoned(seen, now=NOW) == {}
    assert [orphans.tag_of(s.name) for s in seen] == [None, None, None, None]
    assert orphans.tag_of("fip-lab-abc-operator-1") == "abc"

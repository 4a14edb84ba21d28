"""The control-plane heartbeat codec and readiness (floatip_agent.controlplane), pure. Proves:

- every beat survives encode/decode (hypothesis), signed or not, and stays small;
- a key accepts only its own tags: a wrong key, a missing or an unexpected tag, any flipped
  byte are rejected; garbage, truncations and other versions are None, never an exception;
- readiness starts unknown, needs `rise` passes or `fall` failures in a row, and reports
  only changes; the default cluster id names the endpoint; bad ids are refused.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floatip_agent.controlplane import heartbeat, readiness, settings

BEAT = heartbeat.Beat(
    cluster="192.0.2.10:6443", node="cp1", healthy=True, holding=True, term=3, eligible=True,
    leaving=False, mac="02:00:00:00:00:01", seq=9,
)  # fmt: skip

beats = st.builds(
    heartbeat.Beat,
    cluster=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=64),
    node=st.text(min_size=1, max_size=60).filter(lambda s: 0 < len(s.encode()) <= 253),
    healthy=st.sampled_from([True, False, None]),
    holding=st.booleans(),
    term=st.integers(0, 2**64 - 1),
    eligible=st.booleans(),
    leaving=st.booleans(),
    mac=st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b)),
    seq=st.integers(0, 2**32 - 1),
)


@given(beat=beats, key=st.one_of(st.none(), st.binary(min_size=1, max_size=64)))
def test_round_trip(beat: heartbeat.Beat, key: bytes | None) -> None:
    assert heartbeat.decode(heartbeat.encode(beat, key=key), key=key) == beat


def test_small() -> None:
    assert len(heartbeat.encode(BEAT)) < 64
    assert len(heartbeat.encode(BEAT, key=b"k")) < 96


def test_keys_must_match() -> None:
    signed = heartbeat.encode(BEAT, key=b"secret")
    assert heartbeat.decode(signed, key=b"other") is None
    assert heartbeat.decode(signed, key=None) is None
    assert heartbeat.decode(heartbeat.encode(BEAT), key=b"secret") is None
    for index in range(len(signed)):
        tampered = bytearray(signed)
        tampered[index] ^= 0x01
        assert heartbeat.decode(bytes(tampered), key=b"secret") is None, index


@given(data=st.binary(max_size=120))
def test_garbage_is_none(data: bytes) -> None:
    assert heartbeat.decode(data) is None or data.startswith(heartbeat.MAGIC)


def test_truncations_and_other_versions_are_none() -> None:
    whole = heartbeat.encode(BEAT)
    for end in range(len(whole)):
        assert heartbeat.decode(whole[:end]) is None, end
    assert heartbeat.decode(whole + b"x") is None
    other = bytearray(whole)
    other[4] = 2
    assert heartbeat.decode(bytes(other)) is None


def test_unencodable_beats_are_refused() -> None:
    with pytest.raises(ValueError, match="MAC"):
        heartbeat.encode(BEAT._replace(mac="02:00"))
    with pytest.raises(ValueError, match="too long"):
        heartbeat.encode(BEAT._replace(node="n" * 254))


def test_readiness_rise_and_fall() -> None:
    verdict = readiness.Readiness(rise=2, fall=3)
    assert verdict.healthy is None
    assert [verdict.record(ok) for ok in (True, False, True, True)] == [False, False, False, True]
    assert verdict.healthy is True
    assert [verdict.record(ok) for ok in (False, False, True, False, False)] == [False] * 5
    assert verdict.record(False) and verdict.healthy is False
    assert not verdict.record(False)
    with pytest.raises(ValueError, match="at least 1"):
        readiness.Readiness(rise=0, fall=1)


def test_readiness_can_start_with_failures() -> None:
    verdict = readiness.Readiness(rise=1, fall=1)
    assert verdict.record(False) and verdict.healthy is False
    assert verdict.record(True) and verdict.healthy is True


def test_cluster_ids() -> None:
    assert settings.default_cluster_id(ipaddress.ip_address("10.0.0.5"), 6443) == "10.0.0.5:6443"
    assert settings.default_cluster_id(ipaddress.ip_address("fd00::5"), 443) == "[fd00::5]:443"
    assert settings.check_cluster_id("prod-eu") == "prod-eu"
    for bad in ("", "x" * 65, "naïve", "two words\n"):
        with pytest.raises(ValueError, match="printable ASCII"):
            settings.check_cluster_id(bad)


def test_announcement_schedule_is_the_node_agents_default() -> None:
    from floatip.api import model
    from floatip_agent import announcements
    from floatip_agent.controlplane import guarding

    tuning = model.Announce()
    assert list(guarding.SCHEDULE) == announcements.schedule(tuning)
    assert tuning.refresh_interval_seconds == guarding.REFRESH_SECONDS

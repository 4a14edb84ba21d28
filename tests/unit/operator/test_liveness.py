"""Agent liveness as production uses it: the poller's verdicts, the CLI profiles, Lease freshness.

Proves: AgentLiveness's hysteresis (a new agent is not alive until `rise` successes; fewer than
`fall` lost polls in a row never flip a live agent; `fall` do; a success in between resets
the count), both on its own and through polling.Poller against a real /healthz endpoint, where
a 503 and an answer later than the poll timeout each count as a lost poll and each verdict
flips at exactly the poll the profile's `rise` and `fall` say; `--profile` offers exactly
the profiles and Options.policy hands the chosen one to the poller, with the documented values
(docs/tuning.md: poll every 0.2 s / 0.1 s, timeout 0.15 s / 0.08 s, fall 3 / 2, rise 2 / 2,
worst-case detection 0.75 s / 0.28 s); a Lease, read as views reads it, is fresh strictly
before renewTime + leaseDurationSeconds and never without either.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
from collections.abc import AsyncIterator
from typing import Any

import click
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from floatip_operator import liveness, main, options, polling, views


def feed(state: liveness.AgentLiveness, results: str) -> list[bool]:
    return [state.observe(r == "+", float(i)) for i, r in enumerate(results)]


def test_new_agent_needs_rise_successes() -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=2, fall=3))
    assert feed(state, "+") == [False]
    assert not state.alive
    assert feed(state, "+") == [True]
    assert state.alive


def test_one_lost_poll_never_flips() -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=1, fall=3), alive=True)
    feed(state, "--+--+--+")
    assert state.alive


def test_fall_failures_in_a_row_flip() -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=1, fall=3), alive=True)
    assert feed(state, "---") == [False, False, True]
    assert not state.alive
    assert state.last_ok is None


@given(st.text(alphabet="+-", max_size=40), st.integers(1, 5), st.integers(1, 5))
def test_verdict_is_the_last_run_long_enough(results: str, rise: int, fall: int) -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=rise, fall=fall))
    feed(state, results)
    expected = False
    run_char, run_len = "", 0
    for r in results:
        run_len = run_len + 1 if r == run_char else 1
        run_char = r
        if r == "+" and run_len >= rise and not expected:
            expected, run_len = True, 0
            run_char = ""
        elif r == "-" and run_len >= fall and expected:
            expected, run_len = False, 0
            run_char = ""
    assert state.alive is expected


# -- through the poller, against a real /healthz ------------------------------------------


class Healthz:
    """An agent's /healthz answering from a script, one entry per poll: ``ok``, ``503``, or
    ``slow`` (answered after the poll's timeout); past the script it answers 503."""

    def __init__(self, script: list[str], slow_s: float) -> None:
        self.script = collections.deque(script)
        self.slow_s = slow_s
        self.served: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        kind = self.script.popleft() if self.script else "503"
        self.served.append(kind)
        if kind == "slow":
            await asyncio.sleep(self.slow_s)
        if kind == "503":
            return web.json_response({"error": "scripted"}, status=503)
        return web.json_response({"node": "n1", "unsure": False, "held": {}, "health": {}})


@contextlib.asynccontextmanager
async def serving(endpoint: Healthz) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/healthz", endpoint.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        assert site._server is not None
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("profile", sorted(liveness.PROFILES))
async def test_poller_flips_at_exactly_the_polls_the_profile_says(profile: str) -> None:
    # The profile's rise and fall, as runtime hands them to the Poller; a timeout far above a
    # local answer's time, so that only the scripted slow answers are late on a busy machine.
    policy = dataclasses.replace(options.Options(profile=profile).policy, timeout_s=0.5)
    rise, fall = policy.rise, policy.fall
    script = (
        ["ok"] * rise  # a new agent: alive at the rise-th success, not before
        + ["slow"] + ["503"] * (fall - 2) + ["ok"]  # fall-1 lost polls, then one answer
        + ["503"] * (fall - 1) + ["slow"]  # fall lost polls in a row: dead
    )  # fmt: skip
    endpoint = Healthz(script, slow_s=policy.timeout_s + 0.5)
    flips: list[tuple[int, bool, bool]] = []  # (polls served, verdict, poller settled)
    first: list[bool] = []  # settled() at the first change the poller reported
    changed = asyncio.Event()

    def on_change() -> None:
        alive = poller.states()["n1"].alive
        if not first:
            first.append(poller.settled())
        if alive != (flips[-1][1] if flips else False):
            flips.append((len(endpoint.served), alive, poller.settled()))
        changed.set()

    poller = polling.Poller(policy, on_change=on_change)
    async with serving(endpoint) as url:
        poller.sync({"n1": url})
        try:
            async with asyncio.timeout(30):
                while len(flips) < 2:
                    await changed.wait()
                    changed.clear()
        except TimeoutError:
            raise AssertionError(
                f"{profile}: no flip to alive and back to dead; served {endpoint.served}, "
                f"flips {flips}"
            ) from None
        finally:
            await poller.close()
    assert first == [False], "the poller was settled before judging the new agent"
    assert flips == [(rise, True, True), (len(script), False, True)], (
        f"{profile} (rise {rise}, fall {fall}): flips (probe, alive, settled) {flips} "
        f"for answers {endpoint.served}"
    )


def test_cli_profiles_are_the_documented_policies() -> None:
    [option] = [p for p in main.command.params if p.name == "profile"]
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == sorted(liveness.PROFILES) == ["default", "fast"]
    documented = {  # docs/tuning.md, "Profiles"
        "default": (0.2, 0.15, 3, 2, 0.75),
        "fast": (0.1, 0.08, 2, 2, 0.28),
    }
    for name, (interval, timeout, fall, rise, worst) in documented.items():
        policy = options.Options(profile=name).policy
        assert (policy.interval_s, policy.timeout_s, policy.fall, policy.rise) == (
            interval, timeout, fall, rise,
        ), name  # fmt: skip
        # worst-case detection: the last good answer just before a probe, then fall failures
        assert policy.fall * policy.interval_s + policy.timeout_s == pytest.approx(worst)
    assert options.Options().policy is liveness.DEFAULT


# -- Lease freshness, read as views reads it ----------------------------------------------

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
CONTACT_ALL_ALONG = NOW - datetime.timedelta(hours=1)


def lease(renewed: datetime.datetime | None, duration: object) -> dict[str, Any]:
    spec: dict[str, Any] = {"leaseDurationSeconds": duration}
    if renewed is not None:
        spec["renewTime"] = renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"metadata": {"name": "floatip-agent-n1"}, "spec": spec}


@pytest.mark.parametrize(
    ("renewed_seconds_ago", "duration", "fresh"),
    [
        (0, 30, True),
        (29.9, 30, True),
        (30, 30, False),
        (31, 30, False),
        (0, None, False),
        (0, 0, False),
        (None, 30, False),  # never renewed
    ],
)
def test_lease_freshness(
    renewed_seconds_ago: float | None, duration: int | None, fresh: bool
) -> None:
    renewed = (
        None
        if renewed_seconds_ago is None
        else NOW - datetime.timedelta(seconds=renewed_seconds_ago)
    )
    body = lease(renewed, duration)
    assert views.lease_fresh(body, now=NOW, contact_since=CONTACT_ALL_ALONG) is fresh

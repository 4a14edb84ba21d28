"""`floatip_lab.logentries`: floatip's JSON log lines with their times."""

from __future__ import annotations

import datetime

from floatip_lab import logentries


def test_json_lines_with_a_timestamp_come_with_it_and_anything_else_is_skipped() -> None:
    lines = [
        '{"event": "vip-taken", "vip": "a", "timestamp": "2026-12-01T08:30:32.249562Z"}',
        "Traceback (most recent call last):",
        '{"event": "no time"}',
        '{"event": "bad time", "timestamp": "yesterday"}',
        '["not", "an", "object"]',
    ]
    [(stamp, entry)] = list(logentries.entries(lines))
    when = datetime.datetime(2026, 12, 1, 8, 30, 32, 249562, tzinfo=datetime.UTC)
    assert stamp == when.timestamp() and entry["vip"] == "a"

"""The keepalived baseline of the failover benchmark runs for real in a netns LAN.

Proves: two servers running Debian's keepalived elect the master, the client reaches the VIP
there, and after the master's power cut the client gets its first answer from the backup
(the tuned advert_int 0.1 keeps the test short; the benchmark uses the defaults).
"""

from __future__ import annotations

import pathlib

import pytest

from floatip_lab import keepalived


@pytest.mark.kernel
def test_backup_answers_after_master_power_loss(tmp_path: pathlib.Path) -> None:
    seconds = keepalived.measure_once(0.1, tmp_path)
    assert 0 < seconds < 20

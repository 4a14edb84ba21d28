"""Link carrier for /healthz, read from a sysfs-shaped tree: up, down, admin-down, gone."""

from __future__ import annotations

import pathlib

from floatip_agent import carrier


def test_carrier_states(tmp_path: pathlib.Path) -> None:
    (tmp_path / "eth0").mkdir()
    (tmp_path / "eth0" / "carrier").write_text("1\n")
    (tmp_path / "eth1").mkdir()
    (tmp_path / "eth1" / "carrier").write_text("0\n")
    (tmp_path / "eth2").mkdir()  # administratively down: reading carrier fails (EINVAL)
    assert carrier.carrier("eth0", root=tmp_path) is True
    assert carrier.carrier("eth1", root=tmp_path) is False
    assert carrier.carrier("eth2", root=tmp_path) is False
    assert carrier.carrier("gone", root=tmp_path) is None
    assert carrier.carriers(["eth0", "eth1", "eth2", "gone"], root=tmp_path) == {
        "eth0": True,
        "eth1": False,
        "eth2": False,
    }

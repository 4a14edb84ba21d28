"""keepalived.conf for the baseline: the seed's VRRP instance, VRRPv3 only for sub-second adverts."""

from __future__ import annotations

from floatip_lab import keepalived


def test_default_master_config() -> None:
    text = keepalived.render_config(keepalived.Instance("192.0.2.200", 24, "eth0", 150, True))
    assert "state MASTER" in text
    assert "priority 150" in text
    assert "advert_int 1\n" in text
    assert "192.0.2.200/24 dev eth0" in text
    assert "vrrp_version" not in text


def test_sub_second_adverts_use_vrrp3() -> None:
    text = keepalived.render_config(
        keepalived.Instance("192.0.2.200", 24, "eth0", 100, False, advert_int=0.1)
    )
    assert "state BACKUP" in text
    assert "advert_int 0.1\n" in text
    assert "vrrp_version 3" in text

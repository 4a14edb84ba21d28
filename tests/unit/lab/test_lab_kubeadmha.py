"""The control-plane baseline's configuration is kubeadm's documented one, and valid.

Proves: keepalived.conf carries the document's check (every 3 s, weight -2, fall 10, rise 2),
router id, priorities (101 on the MASTER, 100 on the BACKUPs) and no advert_int (keepalived's
default, 1 s); the check script curls localhost:8443 and the VIP; haproxy.cfg balances round
robin over every apiserver on 6443 from :8443 with the document's defaults, and both programs
accept their rendered files (`haproxy -c`; `keepalived --config-test` with no complaint but
the one the document's config always draws: its script runs without script security).
"""

from __future__ import annotations

import pathlib
import subprocess

from floatip_lab import kubeadmha


def test_keepalived_config_is_kubeadms(tmp_path: pathlib.Path) -> None:
    check = tmp_path / "check_apiserver.sh"
    master = kubeadmha.keepalived_config(
        master=True, interface="eth0", vip="192.0.2.245/24", check=check
    )
    backup = kubeadmha.keepalived_config(
        master=False, interface="eth0", vip="192.0.2.245/24", check=check
    )
    for line in ("interval 3", "weight -2", "fall 10", "rise 2", "virtual_router_id 51",
                 "auth_pass 42", f'script "{check}"', "192.0.2.245/24"):  # fmt: skip
        assert line in master, line
    assert "state MASTER" in master
    assert "priority 101" in master
    assert "state BACKUP" in backup
    assert "priority 100" in backup
    assert "advert_int" not in master
    conf = tmp_path / "keepalived.conf"
    conf.write_text(master)
    check.write_text(kubeadmha.check_script("192.0.2.245"))
    check.chmod(0o755)
    done = subprocess.run(
        ["keepalived", "--config-test", "-f", str(conf)], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    # The document's config runs its script as root without `enable_script_security`, which
    # keepalived only warns about (and runs it): that warning is the one complaint allowed.
    complaints = set(done.stderr.splitlines()) - {
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
    }
    assert not complaints, done.stderr


def test_check_script_asks_haproxy_and_the_vip() -> None:
    script = kubeadmha.check_script("192.0.2.245")
    assert "https://localhost:8443/" in script
    assert "if ip addr | grep -q 192.0.2.245; then" in script
    assert "https://192.0.2.245:8443/" in script


def test_haproxy_config_balances_every_apiserver_and_is_valid(tmp_path: pathlib.Path) -> None:
    text = kubeadmha.haproxy_config([("cp1", "192.0.2.17"), ("cp2", "192.0.2.18")])
    for line in ("bind *:8443", "balance     roundrobin", "option                  redispatch",
                 "retries                 1", "option httpchk GET /healthz",
                 "server cp1 192.0.2.17:6443 check", "server cp2 192.0.2.18:6443 check"):  # fmt: skip
        assert line in text, line
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    done = subprocess.run(
        ["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr

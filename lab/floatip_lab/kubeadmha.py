"""The baseline for the control-plane VIP: keepalived + haproxy as kubeadm documents them.

kubeadm's "High Availability Considerations" (kubernetes/kubeadm, docs/ha-considerations.md,
"keepalived and haproxy") gives the configuration this renders, placeholders filled for the
lab: on every control-plane host keepalived (``check_apiserver`` every 3 s, weight -2, fall
10, rise 2; VRRP at keepalived's default ``advert_int 1``; router id 51, priority 101 on the
first host and 100 on the others, ``auth_pass 42``) and haproxy (a TCP frontend on
``APISERVER_DEST_PORT`` 8443 balancing round robin over every host's apiserver on 6443, with
the document's defaults, ``option redispatch``, ``retries 1`` and its server checks at
haproxy's default interval: 2 s, fall 3, rise 2; `haproxy_config` says the one change).
Port 8443, as the document does when haproxy shares the hosts with the apiservers. The
check script is the document's: curl ``https://localhost:8443/`` and, on the holder, the VIP.
Each process is a recorded lab process (`keepalived-HOST`, `haproxy-HOST`), so `floatip lab
down` removes them and a power-on starts them again.
"""

from __future__ import annotations

import pathlib
import shutil

from floatip_lab import commands, processes, state

DEST_PORT = 8443
SRC_PORT = 6443
ROUTER_ID = 51


def keepalived_config(*, master: bool, interface: str, vip: str, check: pathlib.Path) -> str:
    """keepalived.conf as kubeadm's document gives it (pure)."""
    return (
        "! Configuration File for keepalived (kubeadm docs/ha-considerations.md)\n"
        "global_defs {\n"
        "    router_id LVS_DEVEL\n"
        "}\n"
        "vrrp_script check_apiserver {\n"
        f'  script "{check}"\n'
        "  interval 3\n"
        "  weight -2\n"
        "  fall 10\n"
        "  rise 2\n"
        "}\n"
        "\n"
        "vrrp_instance VI_1 {\n"
        f"    state {'MASTER' if master else 'BACKUP'}\n"
        f"    interface {interface}\n"
        f"    virtual_router_id {ROUTER_ID}\n"
        f"    priority {101 if master else 100}\n"
        "    authentication {\n"
        "        auth_type PASS\n"
        "        auth_pass 42\n"
        "    }\n"
        "    virtual_ipaddress {\n"
        f"        {vip}\n"
        "    }\n"
        "    track_script {\n"
        "        check_apiserver\n"
        "    }\n"
        "}\n"
    )


def check_script(vip: str) -> str:
    """check_apiserver.sh as kubeadm's document gives it (pure)."""
    return (
        "#!/bin/sh\n"
        "\n"
        "errorExit() {\n"
        '    echo "*** $*" 1>&2\n'
        "    exit 1\n"
        "}\n"
        "\n"
        f"curl --silent --max-time 2 --insecure https://localhost:{DEST_PORT}/ -o /dev/null || "
        f'errorExit "Error GET https://localhost:{DEST_PORT}/"\n'
        f"if ip addr | grep -q {vip}; then\n"
        f"    curl --silent --max-time 2 --insecure https://{vip}:{DEST_PORT}/ -o /dev/null || "
        f'errorExit "Error GET https://{vip}:{DEST_PORT}/"\n'
        "fi\n"
    )


def haproxy_config(backends: list[tuple[str, str]]) -> str:
    """haproxy.cfg as kubeadm's document gives it, without syslog, with one change (pure).

    The change: the document's ``option ssl-hello-chk`` sends an SSLv3 hello; the lab's API
    server (Python's TLS through asyncio) closes such a connection without a word, so that
    check marks every apiserver down. The servers are checked instead with the document's
    other check line, ``option httpchk GET /healthz``, over TLS (``check-ssl verify none``).
    """
    servers = "".join(
        f"        server {name} {ip}:{SRC_PORT} check check-ssl verify none\n"
        for name, ip in backends
    )
    return (
        "global\n"
        "    daemon\n"
        "defaults\n"
        "    mode                    http\n"
        "    option                  httplog\n"
        "    option                  dontlognull\n"
        "    option http-server-close\n"
        "    option forwardfor       except 127.0.0.0/8\n"
        "    option                  redispatch\n"
        "    retries                 1\n"
        "    timeout http-request    10s\n"
        "    timeout queue           20s\n"
        "    timeout connect         5s\n"
        "    timeout client          20s\n"
        "    timeout server          20s\n"
        "    timeout http-keep-alive 10s\n"
        "    timeout check           10s\n"
        "frontend apiserver\n"
        f"    bind *:{DEST_PORT}\n"
        "    mode tcp\n"
        "    option tcplog\n"
        "    default_backend apiserverbackend\n"
        "backend apiserverbackend\n"
        "    option httpchk GET /healthz\n"
        "    http-check expect status 200\n"
        "    mode tcp\n"
        "    balance     roundrobin\n"
        f"{servers}"
    )


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise commands.LabError(f"{name} is not installed: apt-get install {name}")
    return found


def start(place: state.Place, lab: state.LabState, cluster: state.ControlPlane) -> None:
    """keepalived and haproxy on every host of `cluster` (the first one keepalived's MASTER),
    recorded in `lab` (the caller saves it)."""
    keepalived, haproxy = _binary("keepalived"), _binary("haproxy")
    workdir = place.path("cp", "kubeadm")
    workdir.mkdir(parents=True, exist_ok=True)
    check = workdir / "check_apiserver.sh"
    check.write_text(check_script(cluster.vip.partition("/")[0]))
    check.chmod(0o755)
    backends = [(host, str(lab.host(host).ip)) for host in cluster.hosts]
    proxy_conf = workdir / "haproxy.cfg"
    proxy_conf.write_text(haproxy_config(backends))
    for index, host in enumerate(cluster.hosts):
        conf = workdir / f"keepalived-{host}.conf"
        conf.write_text(
            keepalived_config(master=index == 0, interface="eth0", vip=cluster.vip, check=check)
        )
        netns = lab.host(host).netns
        lab.processes[f"haproxy-{host}"] = processes.spawn(
            name=f"haproxy-{host}", host=host, netns=netns,
            argv=[haproxy, "-db", "-f", str(proxy_conf)],
            log=place.path("logs", f"haproxy-{host}.log"),
        )  # fmt: skip
        lab.processes[f"keepalived-{host}"] = processes.spawn(
            name=f"keepalived-{host}", host=host, netns=netns,
            argv=[keepalived, "--dont-fork", "--log-console", "--vrrp", "-f", str(conf),
                  "-p", str(workdir / f"{host}.pid"), "-r", str(workdir / f"{host}.vrrp.pid")],
            log=place.path("logs", f"keepalived-{host}.log"),
        )  # fmt: skip

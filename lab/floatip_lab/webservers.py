"""The HTTP service each lab node runs: nginx answering its host name on port 80.

A client's request to a VIP is the judge of every failover: the answer names the node that
served it. One nginx master per node namespace (Debian's nginx-light, as the seed uses),
each with its own config, pid file, logs and temp dirs under the lab's state directory, in
the foreground (``daemon off``) so the lab records the master's pid; its workers live in
the same namespace and go with it.
"""

from __future__ import annotations

import pathlib

from floatip_lab import processes, state

PORT = 80


def build_config(*, name: str, root: pathlib.Path, ipv6: bool) -> str:
    """nginx.conf for node `name`: answer ``<name>\\n`` to every GET on port 80."""
    listen6 = f"        listen [::]:{PORT};\n" if ipv6 else ""
    return f"""# floatip lab: the HTTP service of lab node {name}
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen {PORT};
{listen6}        default_type text/plain;
        keepalive_timeout 0;
        location / {{ return 200 "{name}\\n"; }}
    }}
}}
"""


def start(place: state.Place, host: state.HostRecord, *, ipv6: bool) -> state.ProcessRecord:
    """Write node `host`'s nginx config and start its master inside the node's namespace."""
    root = place.path("nginx", host.name)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(build_config(name=host.name, root=root, ipv6=ipv6))
    return processes.spawn(
        name=f"nginx-{host.name}",
        host=host.name,
        netns=host.netns,
        argv=["nginx", "-c", str(conf), "-p", str(root)],
        log=root / "stdout.log",
    )

"""The lab's kube-proxy: a lab part standing in for kube-proxy on each server node.

floatip only puts a Service's address on a node; kube-proxy there sends the traffic for it to
the Service's endpoints. The lab has no kube-proxy, so each server runs this process in its
namespace (``python -m floatip_lab.kubeproxy --node N --kubeconfig K``, started by
`floatip_lab.standins`): it watches Services and EndpointSlices (`floatip_lab.informers`) and
keeps the nftables table `floatip_lab.proxyrules` computes, loading it with ``nft -f`` when it
changes, in one transaction. Its first pass builds the table anew, replacing whatever an
earlier run left, so a restarted or power-cycled node converges; later syncs change only the
ingress points that changed (kube-proxy's nftables mode syncs partially too: reloading all
1,000 Services' rules each second cost each stand-in some 0.13 s of CPU per sync), and a
failed one builds the table anew at the next. On exit it leaves the rules in place, as
kube-proxy does (removing the node's namespace removes them).

How often, as kube-proxy: a sync recomputes only the Services that changed (a Service, or one
of its slices: `proxyrules.Programme`, kube-proxy's change trackers), and syncs are bounded in
frequency as kube-proxy's (its ``BoundedFrequencyRunner``: a burst of `BURST_SYNCS` at once,
then one per ``--min-sync-period``, default 1 s, `MIN_SYNC_SECONDS`): a change after a quiet
spell is programmed at once, and a thousand Services changing within a second are programmed
together, not one ``nft`` load each.

Reaching an endpoint on another node means forwarding, which a lab node does not otherwise do:
while the table is there the node forwards on its data interface (``eth0``) with ICMP redirects
off (the client must keep sending to the address's holder), and the table's forward chain
passes only what it DNATed; with no Service address the table goes and forwarding with it.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from floatip_agent import ratelimit
from floatip_lab import endpointslices, informers, kubeapi, naming, proxyrules

SERVICES = "/api/v1/services"
SLICES = "/apis/discovery.k8s.io/v1/endpointslices"
RETRY_SECONDS = 0.5
MIN_SYNC_SECONDS = 1.0  # kube-proxy's --min-sync-period default
BURST_SYNCS = 2  # kube-proxy's burstSyncs (NewBoundedFrequencyRunner)
_SYSCTL = pathlib.Path("/proc/sys/net/ipv4/conf")


def set_forwarding(on: bool, ifname: str = naming.DATA_IFNAME) -> None:
    """Forward what arrives on ``ifname`` (and send no ICMP redirect), or stop."""
    (_SYSCTL / ifname / "forwarding").write_text("1\n" if on else "0\n")
    for scope in ("all", ifname):
        (_SYSCTL / scope / "send_redirects").write_text("0\n" if on else "1\n")


def load(script: str) -> None:
    """Apply ``script`` with ``nft -f -``; RuntimeError with nft's complaint if refused."""
    done = subprocess.run(
        ["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=10, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"nft refused the script ({done.stderr.strip()}):\n{script}")


def apply(script: str, *, empty: bool) -> None:
    """Load the table, then forward (or stop forwarding, then remove it): never forward
    without the table's forward chain in place."""
    if empty:
        set_forwarding(False)
        load(script)
    else:
        load(script)
        set_forwarding(True)


def _owner_keys(obj: informers.Obj) -> list[informers.Key]:
    return [key] if (key := proxyrules.owner_key(obj)) else []


def run(client: kubeapi.Client, node: str, ready_file: pathlib.Path | None) -> None:
    changed = threading.Event()
    queue = informers.Queue(changed)
    services = informers.Informer(
        client, SERVICES, changed, queue=queue, keys=lambda obj: [endpointslices.service_key(obj)]
    )
    slices = informers.Informer(client, SLICES, changed, queue=queue, keys=_owner_keys)
    for informer in (services, slices):
        informer.start()
    for informer in (services, slices):
        informer.synced.wait()
    programme = proxyrules.Programme(node)
    limiter = ratelimit.TokenBucket(capacity=BURST_SYNCS, rate=1 / MIN_SYNC_SECONDS)
    #: What the table holds, by ingress point; None: no table (built anew at the next sync).
    loaded: dict[proxyrules.Point, proxyrules.Entry] | None = None
    failed = ""  # the last failure, said once
    while True:
        changed.wait()
        time.sleep(limiter.wait_time())
        limiter.try_take()
        changed.clear()
        keys, everything = queue.take()
        by_key = {endpointslices.service_key(s): s for s in services.items()}
        if everything:
            keys = set(by_key) | set(programme.keys())
        programme.update(keys, by_key, proxyrules.slices_by_service(slices.items()))
        plan = programme.plan()
        if loaded is None or not plan:  # build the table anew, or remove it
            script = proxyrules.ruleset(plan)
        else:  # a partial sync: only the ingress points that changed
            script = proxyrules.changes(loaded, plan)
            if not script:
                continue
        try:
            apply(script, empty=not plan)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            if str(exc) != failed:
                print(f"kube-proxy {node}: {exc}; retrying with the table built anew", flush=True)
            failed = str(exc)
            loaded = None
            time.sleep(RETRY_SECONDS)
            changed.set()
            continue
        loaded = {proxyrules.point(entry): entry for entry in plan} if plan else None
        failed = ""
        print(f"kube-proxy {node}: {len(plan)} service address(es) programmed", flush=True)
        if ready_file is not None and not ready_file.exists():
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.write_text("synced\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--node NAME --kubeconfig PATH [--ready-file PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.kubeproxy")
    parser.add_argument("--node", required=True)
    parser.add_argument("--kubeconfig", type=pathlib.Path, required=True)
    parser.add_argument("--ready-file", type=pathlib.Path)
    args = parser.parse_args(argv)
    print(f"lab kube-proxy on {args.node} (the lab's stand-in for kube-proxy)", flush=True)
    run(kubeapi.Client(args.kubeconfig, timeout=10), args.node, args.ready_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""floatip's node agent: puts VIPs on a node's interfaces and tells the LAN where they live.

The kernel layer below, and the `floatip-agent` process on top of it. Layers, lowest first:

Pure (no I/O, unit tested):
- `packets`: the ARP/NDP frames (probe, gratuitous ARP, DAD NS, unsolicited NA) as bytes.
- `claims`: raw frames read back as `Claim(address, mac, kind)`; never raises.
- `addressing`: where and how a VIP goes (marking, refusal, interface choice).
- `bpf`: the kernel socket filter for ARP and NDP NS/NA, assembled by hand.
- `ratelimit`: a token bucket for re-asserting against an intruder.
- `assignments`: VirtualIP objects read as assignments; the newest-epoch book.
- `decisions`: take / keep / hand over / release, claims, the restart plan.
- `fencing`, `conflicts`, `leasing`, `reporting`: unsure, conflict records, Lease, patches.

Adapters (thin, keyword-only, tested on a real kernel in lab namespaces):
- `namespaces`: creating sockets inside a named netns (lab, tests, benchmarks).
- `kernel_addresses`: netlink add/remove/list of VIPs (pyroute2 `AsyncIPRoute`).
- `packet_sockets`: raw AF_PACKET send and filtered capture sockets.
- `announcing`: bursts of announcements on the `Announce` tuning's schedule.
- `wire`: the stream of claims seen on an interface.
- `probing`: RFC 5227-style probe, telling foreign hosts from cluster peers.
- `kube`: the Kubernetes client (watch, status patches, Events, Lease, Node).
- `links`: one interface's announcer, claim watcher and shared-watcher probes.
- `healthchecks`, `healthserver`, `metrics`: local checks, /healthz and /metrics.

The process: `agent` (state and loops), `settings`, `main` (``floatip-agent``).
"""

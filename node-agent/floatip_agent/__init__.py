"""floatip's node agent: puts VIPs on a node's interfaces and tells the LAN where they live.

Components with one job each, exchanging plain values (docs/architecture.md draws them):

- `intake`: the API's word on VirtualIPs (list + watch), newest epoch only, as nudges.
- `workers`, `worker`: one worker task per VirtualIP, the only code that acts on it; it takes
  with `taking`, defends with `defending`, and lets go with `releasing`.
- `guard`: claims on held addresses turned into nudges (fencing, conflicts).
- `links`: the link pool, the packet sockets of each interface (probe, send, capture).
- `announcements`: when each held address is announced (bursts, second burst, refresh).
- `handoffs`: the nftables flow handoffs in force (`handoff` decides, `nftables` loads).
- `presence`: the Lease, the API contact (the fence's ping) and the Node.
- `healthchecks`: local checks of the VirtualIPs that select this node.
- `reporter`: every API write, deduplicated and rate-limited.
- `agent`: wiring and supervision; `main`: the ``floatip-agent`` process.
- `healththread`: ``/healthz`` and ``/metrics`` on a thread of its own (a busy agent is not a
  dead one); `healthserver` is its HTTP side.

Pure decisions (no I/O, unit tested): `decisions`, `assignments`, `fencing`, `conflicts`,
`ratelimit`, `addressing`, `claims`, `probing`, `handoff`, `leasing`, `problems`, `nudges`,
`table`, `settings`; `packets` and `bpf` build frames and the socket filter as bytes.
Adapters (thin, tested on a real kernel): `kernel_addresses` (netlink; `address_batch` and
`address_dump` pack and parse address messages with struct), `packet_sockets`,
`wire`, `announcing`, `nftables`, `namespaces`, `carrier`. `ports` names what the workers need
of the adapters, so the unit tests can pass fakes.
"""

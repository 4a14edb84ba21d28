"""Lab tooling: throwaway network namespaces that stand in for a bare-metal LAN.

The kernel tests and `floatip lab` build the same topology here: a switch namespace with a
Linux bridge per segment (data LAN, optional management network) and one namespace per host.

Modules (import modules, not names):
- `naming`: namespace names, the address and MAC plan (pure).
- `ipjson`: parsers for `ip -j` output (pure).
- `commands`: running iproute2 and friends with errors that say what to do.
- `hosts`: one host namespace: run commands in it, read its addresses and neighbours, cut links.
- `netns`: building and tearing down a topology; removing namespaces left by dead runs.
- `garp`: gratuitous ARP sender, run as a process inside a host (`python -m floatip_lab.garp`).
- `waiting`: polling a condition with a deadline that only guards against hangs.

`floatip lab` (the long-lived lab, `cli` on top) adds:
- `state`: the lab's state directory, tag, ``fip-lab-<tag>-`` prefix and state file.
- `lifecycle`: `up` (ordered, undone on failure) and `down` (state file plus prefix scan).
- `processes`: detached processes in namespaces, checked by namespace before any signal.
- `apiserving`, `relay`: the API server on the management network, and 127.0.0.1's way in.
- `kubeapi`, `seeding`: a tiny client; the Nodes and Namespace a cluster would have.
- `webservers`: nginx per node answering its name. `floatipd`: agents and operators.
- `faults`: kill/freeze/cut/heal, API down/up, operator and agent restarts.
- `prereqs`: the programs the lab needs and the packages that ship them.
- `reporting`: `status` and its JSON keys.
"""

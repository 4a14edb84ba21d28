"""The benchmarks behind ``floatip bench``: each one prints figures and asserts nothing.

- `agent`, `agent_apply`: the agent's add + announce latency and its memory holding 1,000 VIPs.
- `placement`, `operator_memory`: pure placement at 10,000 VIPs, and the operator process's RSS.
- `failover`, `switchover`: client-seen failover and planned switchovers in the lab.
- `scale`, `scale_lab`, `scale_figures`: N VIPs on one node, applied at once, then it fails.
- `apiserver`: the test API server at 10,000 VirtualIPs.
- `cli`: the ``floatip bench`` group.
"""

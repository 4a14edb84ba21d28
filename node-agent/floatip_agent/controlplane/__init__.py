"""The control-plane VIP: kube-apiserver's endpoint, held without the Kubernetes API.

``floatip-control-plane-agent`` runs on every control-plane node (a static Pod or a systemd
unit) and keeps one address, the ``controlPlaneEndpoint``, on exactly one node whose local
apiserver is ready. It must work before the API exists and while it is gone, so it elects and
fences over the LAN only (docs/control-plane.md):

- `heartbeat`: the small UDP message every node sends (pure codec, optional HMAC).
- `readiness`: rise/fall over the local ``/readyz`` checks (pure); `probe` does one check;
  `checking` runs them on a fixed period.
- `election`: who claims, who keeps, who releases (pure); `hearing`: what was heard (pure).
- `settings`: the ``--profile`` presets, the configuration, the default cluster id (pure).
- `beacon`: the heartbeat socket; `vipaddress`: the address in the kernel (netlink);
  `guarding`: the holder's announcements and its defence of the address on the wire;
  `claiming`: the address I/O of a claim (probe, add) and of a release (remove, redirect).
- `metrics`, `node`: the running node (wiring, the loop); `main`: the process.
"""

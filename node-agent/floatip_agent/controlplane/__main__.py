"""``python -m floatip_agent.controlplane``: the same as ``floatip-control-plane-agent``."""

from floatip_agent.controlplane.main import main

main()

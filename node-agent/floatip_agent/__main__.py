"""``python -m floatip_agent``: the same as the ``floatip-agent`` console script."""

from floatip_agent import main

main.main()

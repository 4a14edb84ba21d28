"""``python -m floatip_operator``: the same as the ``floatip-operator`` console script."""

from floatip_operator.main import main

main()

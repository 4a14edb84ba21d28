"""``python -m floatip.cli``: the same as the ``floatip`` console script."""

from floatip.cli import main

main.main()

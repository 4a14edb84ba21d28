"""``kubectl vip``: the kubectl plugin for operating floatip (console script kubectl-vip)."""

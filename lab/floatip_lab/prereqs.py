"""What `floatip lab up` needs from the machine, checked before anything is built.

A missing program would otherwise surface halfway through the build as a bare "No such file";
this names the program, the Debian package that ships it and the command that installs it.
"""

from __future__ import annotations

import os
import shutil

from floatip_lab import commands

#: program -> Debian package providing it
PROGRAMS: dict[str, str] = {
    "ip": "iproute2",
    "nginx": "nginx-light",
    "ping": "iputils-ping",
    "arping": "iputils-arping",
    "curl": "curl",
    "nft": "nftables",  # the agents' flow handoff in planned switchovers
}


def missing_programs(path: str | None = None) -> dict[str, str]:
    """The required programs not found on `path` (default: $PATH), with their packages."""
    return {prog: pkg for prog, pkg in PROGRAMS.items() if shutil.which(prog, path=path) is None}


def check() -> None:
    """Raise LabError naming what is missing (root, programs) and how to get it."""
    if os.geteuid() != 0:
        raise commands.LabError(
            "floatip lab needs root (it creates network namespaces): run it with sudo"
        )
    missing = missing_programs()
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        listed = ", ".join(f"{prog} (package {pkg})" for prog, pkg in sorted(missing.items()))
        raise commands.LabError(
            f"floatip lab needs programs that are not on PATH: {listed}. "
            f"Install them with `apt-get install {packages}` (or run scripts/install.sh)"
        )

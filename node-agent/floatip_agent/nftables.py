"""Loading an nftables script with the ``nft`` program (the adapter for `handoff`).

kube-proxy's nftables mode drives the kernel the same way (through ``nft -f``): the program
owns the netlink encoding of rules, and a script is applied in one transaction. A missing
program or a refused script is an `NftablesError` saying which and what to do; the caller
decides whether that matters (for the flow handoff it only costs the one connection in flight
at the MAC flip, so the agent logs it and moves on).
"""

from __future__ import annotations

import asyncio
import shutil

NFT = "nft"


class NftablesError(RuntimeError):
    """``nft`` is missing or refused the script."""


def available() -> bool:
    """Whether the ``nft`` program is on PATH."""
    return shutil.which(NFT) is not None


TIMEOUT = 5.0  # seconds; nft applies a small script in milliseconds


async def load(script: str, *, netns: str | None = None) -> None:
    """Apply ``script`` with ``nft -f -`` (inside ``ip netns`` NETNS when given)."""
    program = shutil.which(NFT)
    if program is None:
        raise NftablesError(
            "the nft program is missing: install nftables (Debian: apt install nftables) "
            "to keep connections in flight across a planned switchover"
        )
    argv = [program, "-f", "-"]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(script.encode()), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise NftablesError(f"nft did not finish within {TIMEOUT:g} s") from None
    if process.returncode != 0:
        raise NftablesError(
            f"nft refused the script (exit {process.returncode}): "
            f"{stderr.decode(errors='replace').strip()}"
        )

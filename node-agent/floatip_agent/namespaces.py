"""Opening sockets inside a named network namespace, for the lab, tests and benchmarks.

In a cluster the agent runs in the node's own namespace (hostNetwork) and passes no name.
The lab runs several "nodes" in one process, so every socket factory of the agent takes an
optional namespace name. A socket stays in the namespace it was created in, so it is enough
to switch the *calling thread* into the namespace (``setns(2)`` on the thread), create the
socket and switch back; nothing else in the process moves.

Namespaces are looked up the way ``ip netns`` names them (``/run/netns/NAME``) and are never
created here: a missing name is an error that says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000


class NamespaceError(OSError):
    """A network namespace could not be entered or left."""


def _setns(fd: int, *, what: str) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NamespaceError(
            errno,
            f"cannot enter network namespace {what}: {os.strerror(errno)}; "
            "the agent needs CAP_SYS_ADMIN to use a named namespace",
        )


@contextlib.contextmanager
def entered(netns: str | None) -> Iterator[None]:
    """Run the body with this thread in namespace `netns` (None: stay where it is)."""
    if netns is None:
        yield
        return
    path = os.path.join(NETNS_RUN_DIR, netns)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NamespaceError(
            2, f"no network namespace {netns!r} ({path} is missing); list them: `ip netns list`"
        ) from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target, what=repr(netns))
        try:
            yield
        finally:
            _setns(home, what="of this thread before it entered " + repr(netns))
    finally:
        os.close(target)
        os.close(home)

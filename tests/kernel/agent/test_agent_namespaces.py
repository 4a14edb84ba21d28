"""Opening the agent's sockets in a named namespace (floatip_agent.namespaces,
packet_sockets). Proves:

- inside `entered(name)` the thread is in that namespace, and afterwards it is back where it
  was, also when the body raises;
- a missing namespace or interface is a typed error that names it and says what to check.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from floatip_agent import namespaces, packet_sockets, wire
from floatip_lab import netns

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel


def current() -> str:
    return os.readlink("/proc/thread-self/ns/net")


def test_enter_and_return(lan: LanFactory) -> None:
    node = lan("node")["node"]
    home = current()
    with namespaces.entered(node.netns):
        inside = current()
    assert current() == home
    assert inside != home
    with pytest.raises(RuntimeError, match="boom"), namespaces.entered(node.netns):
        raise RuntimeError("boom")
    assert current() == home


def test_missing_namespace_and_interface(lan: LanFactory) -> None:
    node = lan("node")["node"]
    with pytest.raises(namespaces.NamespaceError, match="no network namespace 'fip-nope'"):
        wire.Watcher.open(ifname="eth0", netns="fip-nope")
    with pytest.raises(packet_sockets.InterfaceError, match=r"'eth9' in namespace .*no such"):
        packet_sockets.open_sender(ifname="eth9", netns=node.netns)

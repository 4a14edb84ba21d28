"""Fixtures for kernel tests: lab LANs in throwaway network namespaces (floatip_lab.netns).

Thin on purpose: the topology logic lives in `floatip_lab` so `floatip lab` reuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from floatip_lab import commands, naming, netns

LanFactory = Callable[..., netns.Topology]


@pytest.fixture(scope="session", autouse=True)
def _stale_lab_namespaces_removed() -> None:
    """Remove namespaces an interrupted earlier run left behind (their owner pid is gone)."""
    netns.cleanup_stale()


@pytest.fixture
def lan(request: pytest.FixtureRequest) -> Iterator[LanFactory]:
    """Factory: ``lan("a", "b", HostSpec("api", data=False, mgmt=True), ipv6=True, mgmt=False)``.

    Builds a topology (see `netns.LanSpec.of`) named after the test, and tears every one down
    after the test, whether it passed or failed.
    """
    built: list[netns.Topology] = []
    base = naming.sanitize_tag(request.node.name, limit=20)

    def make(
        *hosts: str | netns.HostSpec, ipv6: bool = False, mgmt: bool = False
    ) -> netns.Topology:
        spec = netns.LanSpec.of(f"{base}{len(built)}", *hosts, ipv6=ipv6, mgmt=mgmt)
        topo = netns.build(spec)
        built.append(topo)
        return topo

    yield make
    failures: list[str] = []
    for topo in reversed(built):
        try:
            topo.close()
        except commands.LabError as exc:
            failures.append(str(exc))
    if failures:
        pytest.fail("lab teardown failed:\n" + "\n".join(failures))

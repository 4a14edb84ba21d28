"""The agent's table: one record per VirtualIP of what was assigned and what is held.

A read model, not a place to act from. ``assignments`` is written by the intake only (the
newest accepted word of the API, `floatip_agent.intake`); ``held`` by each VirtualIP's own
worker only (`floatip_agent.worker`). The claim guard reads it to tell which VirtualIP a
claim is about, ``/healthz`` to say what this node holds, the health checks to know which
VirtualIPs select this node. Values are immutable NamedTuples, replaced whole.
"""

from __future__ import annotations

from floatip_agent import addressing, assignments, decisions


class Table:
    """Assignments and held addresses by VirtualIP name."""

    def __init__(self) -> None:
        self.assignments: dict[str, assignments.Assignment] = {}
        self.held: dict[str, decisions.Held] = {}
        self._by_address: dict[tuple[addressing.IPAddress, str], str] = {}
        #: the members of each group (spec.group), so a member's worker looks only at them
        self._groups: dict[str, set[str]] = {}

    def assign(self, assignment: assignments.Assignment) -> None:
        self._leave(self.assignments.get(assignment.name))
        self.assignments[assignment.name] = assignment
        if assignment.group is not None:
            self._groups.setdefault(assignment.group, set()).add(assignment.name)

    def forget(self, name: str) -> None:
        self._leave(self.assignments.pop(name, None))

    def _leave(self, old: assignments.Assignment | None) -> None:
        if old is None or old.group is None:
            return
        members = self._groups.get(old.group)
        if members is not None:
            members.discard(old.name)
            if not members:
                del self._groups[old.group]

    def group_held(self, group: str) -> list[str]:
        """The members of ``group`` this node holds, by name."""
        return sorted(name for name in self._groups.get(group, ()) if name in self.held)

    def hold(self, name: str, held: decisions.Held | None) -> None:
        """What VirtualIP ``name``'s worker holds now (None: nothing)."""
        old = self.held.pop(name, None)
        if old is not None:
            self._by_address.pop((old.address, old.ifname), None)
        if held is not None:
            self.held[name] = held
            self._by_address[(held.address, held.ifname)] = name

    def holding(self, address: addressing.IPAddress, ifname: str) -> str | None:
        """The VirtualIP whose address this is on that interface, if this node holds it."""
        return self._by_address.get((address, ifname))

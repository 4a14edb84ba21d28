"""The hand-assembled socket filter (floatip_agent.bpf). Proves that the program encodes to
``struct sock_filter`` records with the right forward jump offsets, and that an assembly
error (a jump backwards or to a missing label) is refused instead of producing a filter the
kernel would reject or mis-run. What the filter lets through is proven on a real kernel in
tests/kernel/agent/test_agent_wire.py.
"""

from __future__ import annotations

import struct

import pytest

from floatip_agent import bpf


def records(code: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack_from("=HBBI", code, offset) for offset in range(0, len(code), 8)]


def test_program_encoding() -> None:
    code = bpf.assemble(bpf.PROGRAM)
    assert records(code) == [
        (0x20, 0, 0, 0xFFFFF004),  # ld pkttype
        (0x15, 9, 0, 4),  # outgoing? -> drop (index 11)
        (0x28, 0, 0, 12),  # ldh ethertype
        (0x15, 6, 0, 0x0806),  # arp -> accept (index 10)
        (0x15, 0, 6, 0x86DD),  # ipv6 -> next, else drop
        (0x30, 0, 0, 20),  # ldb next header
        (0x15, 0, 4, 58),  # icmpv6 -> next, else drop
        (0x30, 0, 0, 54),  # ldb icmpv6 type
        (0x15, 1, 0, 135),  # NS -> accept
        (0x15, 0, 1, 136),  # NA -> accept, else drop
        (0x06, 0, 0, 0x40000),  # accept
        (0x06, 0, 0, 0),  # drop
    ]


def test_backward_jump_is_refused() -> None:
    program = (bpf.Insn(bpf.RET_K, 0, label="top"), bpf.Insn(bpf.JEQ_K, 1, jt="top", jf="top"))
    with pytest.raises(ValueError, match="not forward"):
        bpf.assemble(program)


def test_missing_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label 'nowhere'"):
        bpf.assemble((bpf.Insn(bpf.JEQ_K, 1, jt="nowhere", jf="nowhere"),))

"""A classic BPF program, assembled by hand, that lets only ARP and NDP NS/NA reach the agent.

The agent watches every frame on a node's LAN interface for claims on its VIPs. Copying all
traffic to user space (a busy node sees gigabits) to throw almost all of it away would be
absurd, so the kernel filters on the socket (``SO_ATTACH_FILTER``). The program is tiny and
fixed, so it is written out here instead of compiled with libpcap/tcpdump at run time (the
agent image ships neither). What it accepts::

    not outgoing (our own frames)  and  ( arp  or  ip6 and icmp6 type 135 or 136 )

The IPv6 test assumes no extension header before ICMPv6, as RFC 4861 traffic never has one
(a NS/NA behind one is dropped here, and would be by the claims parser too).
"""

from __future__ import annotations

import ctypes
import socket
import struct
from typing import NamedTuple

# Opcodes (linux/filter.h): class | size | mode, class | op | source.
LD_W_ABS = 0x20
LD_H_ABS = 0x28
LD_B_ABS = 0x30
JEQ_K = 0x15
RET_K = 0x06

SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # ancillary load: skb->pkt_type
PACKET_OUTGOING = 4
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
SO_ATTACH_FILTER = 26
ACCEPT_BYTES = 0x40000  # whole frames


class Insn(NamedTuple):
    """One instruction; `jt`/`jf` are label names for jumps, resolved by `assemble`."""

    code: int
    k: int = 0
    jt: str | None = None
    jf: str | None = None
    label: str | None = None


PROGRAM = (
    Insn(LD_W_ABS, SKF_AD_PKTTYPE),
    Insn(JEQ_K, PACKET_OUTGOING, jt="drop", jf="ethertype"),
    Insn(LD_H_ABS, 12, label="ethertype"),
    Insn(JEQ_K, ETH_P_ARP, jt="accept", jf="ipv6"),
    Insn(JEQ_K, ETH_P_IPV6, jt="next-header", jf="drop", label="ipv6"),
    Insn(LD_B_ABS, 14 + 6, label="next-header"),
    Insn(JEQ_K, 58, jt="icmp-type", jf="drop"),
    Insn(LD_B_ABS, 14 + 40, label="icmp-type"),
    Insn(JEQ_K, 135, jt="accept", jf="na"),
    Insn(JEQ_K, 136, jt="accept", jf="drop", label="na"),
    Insn(RET_K, ACCEPT_BYTES, label="accept"),
    Insn(RET_K, 0, label="drop"),
)


def assemble(program: tuple[Insn, ...]) -> bytes:
    """The program as ``struct sock_filter[]`` bytes, jumps resolved to forward offsets."""
    where = {insn.label: index for index, insn in enumerate(program) if insn.label}
    out = bytearray()
    for index, insn in enumerate(program):
        offsets = []
        for target in (insn.jt, insn.jf):
            if target is not None and target not in where:
                raise ValueError(f"BPF jump from {index} to unknown label {target!r}")
            offset = 0 if target is None else where[target] - index - 1
            if not 0 <= offset <= 255:
                raise ValueError(f"BPF jump from {index} to {target!r} is not forward/in range")
            offsets.append(offset)
        out += struct.pack("=HBBI", insn.code, offsets[0], offsets[1], insn.k)
    return bytes(out)


def attach(sock: socket.socket, program: tuple[Insn, ...] = PROGRAM) -> None:
    """Attach `program` to `sock` (``SO_ATTACH_FILTER``) so the kernel drops all else."""
    code = assemble(program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)

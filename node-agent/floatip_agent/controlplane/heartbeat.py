"""The control-plane agents' heartbeat: one small UDP datagram per node per beat (pure codec).

It is the liveness signal (a node silent for ``dead_after`` is gone) and carries all a peer
needs to elect: who sends (node name, the order key), for which cluster, whether its local
apiserver is ready, whether it holds the VIP and since which claim (``term``), whether it may
claim at all (``eligible``: its link has carrier and its last probe found no foreign host),
whether it is leaving (SIGTERM: hand the VIP over), and its MAC, so its ARP answers during a
probe or a make-before-break overlap are a peer's and not an intruder's.

Layout (network byte order), version 1::

    "FLCP" | version u8 | flags u8 | term u64 | seq u32 | mac 6 bytes |
    cluster-id length u8 + ASCII | node length u8 + UTF-8 | [HMAC-SHA256, 32 bytes]

With ``--key-file`` every datagram ends with an HMAC-SHA256 over all that precedes it; a node
with a key accepts only datagrams with a valid tag, a node without one only untagged ones, so
a half-configured cluster fails loudly (counted as rejected) instead of electing twice.
`decode` never raises: anyone on the LAN can send anything to the port.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from typing import NamedTuple

MAGIC = b"FLCP"
VERSION = 1
_HEADER = struct.Struct("!4sBBQI6s")
TAG_SIZE = 32
MAX_NAME = 253  # a Kubernetes node name


class Flag(enum.IntFlag):
    HEALTHY = 0x01
    HEALTH_KNOWN = 0x02
    HOLDING = 0x04
    ELIGIBLE = 0x08
    LEAVING = 0x10
    SIGNED = 0x20


class Beat(NamedTuple):
    """One node's state as it sent it."""

    cluster: str
    node: str
    healthy: bool | None  # None: not checked enough yet
    holding: bool
    term: int
    eligible: bool
    leaving: bool
    mac: str
    seq: int = 0


def encode(beat: Beat, *, key: bytes | None = None) -> bytes:
    """The datagram for `beat`, tagged with `key` if given."""
    flags = Flag(0)
    if beat.healthy is not None:
        flags |= Flag.HEALTH_KNOWN
        if beat.healthy:
            flags |= Flag.HEALTHY
    for on, flag in (
        (beat.holding, Flag.HOLDING), (beat.eligible, Flag.ELIGIBLE),
        (beat.leaving, Flag.LEAVING), (key is not None, Flag.SIGNED),
    ):  # fmt: skip
        if on:
            flags |= flag
    cluster = beat.cluster.encode("ascii")
    node = beat.node.encode()
    if len(cluster) > 255 or len(node) > MAX_NAME:
        raise ValueError(f"cluster id or node name too long for a heartbeat: {beat!r}")
    body = (
        _HEADER.pack(MAGIC, VERSION, flags, beat.term, beat.seq & 0xFFFFFFFF, _mac(beat.mac))
        + bytes([len(cluster)]) + cluster + bytes([len(node)]) + node
    )  # fmt: skip
    if key is None:
        return body
    return body + hmac.new(key, body, hashlib.sha256).digest()


def decode(data: bytes, *, key: bytes | None = None) -> Beat | None:
    """The beat in `data`, or None if it is not a valid heartbeat (for this key)."""
    try:
        magic, version, flags, term, seq, mac = _HEADER.unpack_from(data)
        if magic != MAGIC or version != VERSION:
            return None
        offset = _HEADER.size
        cluster, offset = _field(data, offset)
        node, offset = _field(data, offset)
        signed = bool(flags & Flag.SIGNED)
        if signed != (key is not None):
            return None
        if key is not None:
            tag = data[offset:]
            expected = hmac.new(key, data[:offset], hashlib.sha256).digest()
            if not hmac.compare_digest(tag, expected):
                return None
        elif offset != len(data):
            return None
        return Beat(
            cluster=cluster.decode("ascii"), node=node.decode(),
            healthy=bool(flags & Flag.HEALTHY) if flags & Flag.HEALTH_KNOWN else None,
            holding=bool(flags & Flag.HOLDING), term=term, eligible=bool(flags & Flag.ELIGIBLE),
            leaving=bool(flags & Flag.LEAVING), mac=":".join(f"{b:02x}" for b in mac), seq=seq,
        )  # fmt: skip
    except (struct.error, ValueError, IndexError):
        return None


def _field(data: bytes, offset: int) -> tuple[bytes, int]:
    length = data[offset]
    value = data[offset + 1 : offset + 1 + length]
    if len(value) != length or not length:
        raise ValueError("truncated field")
    return value, offset + 1 + length


def _mac(text: str) -> bytes:
    raw = bytes.fromhex(text.replace(":", ""))
    if len(raw) != 6:
        raise ValueError(f"{text!r} is not a MAC address")
    return raw

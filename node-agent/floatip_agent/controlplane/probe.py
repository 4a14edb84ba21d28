"""One check of the local apiserver: ``GET https://127.0.0.1:PORT/readyz``, anonymous.

kubeadm's apiservers allow anonymous ``/readyz`` (the ``system:public-info-viewer`` role), so
the check needs no credentials. The connection stays on loopback, so the certificate is not
verified unless ``--ca-file`` asks for it (its name is the node's, not 127.0.0.1, anyway: only
the CA is checked, not the host name). A new connection per check: an apiserver that stops
listening fails the very next check (connection refused) instead of a keep-alive's timeout.
"""

from __future__ import annotations

import asyncio
import ssl


def context(ca_file: str | None) -> ssl.SSLContext:
    """TLS for the check: verify against `ca_file` (no host name), or not at all."""
    ctx = (
        ssl.create_default_context(cafile=ca_file)
        if ca_file
        else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    )
    ctx.check_hostname = False
    if not ca_file:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def ready(
    *, port: int, path: str, tls: ssl.SSLContext | None, within: float, host: str = "127.0.0.1"
) -> bool:
    """Whether the apiserver answered 200 within `within` seconds (anything else: no)."""
    try:
        async with asyncio.timeout(within):
            return await _get(host, port, path, tls)
    except (OSError, TimeoutError, ValueError, ssl.SSLError):
        return False


async def _get(host: str, port: int, path: str, tls: ssl.SSLContext | None) -> bool:
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: floatip-control-plane"
            "\r\nAccept: text/plain\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        parts = (await reader.readline()).split()
    except BaseException:
        # Timed out or failed: drop the connection now. A TLS close would wait for the
        # server's close_notify, which a wedged apiserver never sends, and the check with it.
        writer.transport.abort()
        raise
    writer.close()  # not awaited, for the same reason
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1] == b"200"

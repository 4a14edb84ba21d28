"""The ``Warning`` response header, written as the real server writes it (RFC 7234 §5.5).

One header line per warning, ``299 - "text"``, the text an RFC 7230 quoted-string: ``"`` and
``\\`` escaped with a backslash. client-go parses exactly that and silently drops what it cannot
parse, so an unescaped quote inside the text (every ``unknown field "spec.x"`` warning has
two) makes kubectl print nothing. Like k8s.io/apiserver's recorder, duplicates are sent once
and control characters are replaced, since they cannot travel in a header.
"""

from __future__ import annotations

from collections.abc import Iterable


def quoted(text: str) -> str:
    """An RFC 7230 quoted-string (what Go's net.NewWarningHeader makes of ``text``)."""
    clean = "".join(c if c == "\t" or (c >= " " and c != "\x7f") else "?" for c in text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header(text: str) -> str:
    """One warning: code 299 ("miscellaneous persistent warning"), agent ``-``."""
    return f"299 - {quoted(text)}"


def lines(texts: Iterable[str]) -> list[str]:
    """One ``Warning`` header value for each distinct text, in order (add each as its own line)."""
    return [header(text) for text in dict.fromkeys(texts)]

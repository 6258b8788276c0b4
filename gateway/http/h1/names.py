"""Header names as spelled on the wire -> the lower-cased form a reader keeps, remembered.

    lower = names.get(name)                  # the hot path: one dict lookup
    if lower is None:
        lower = learn(names, kept, name)     # b"" where the reader keeps no value of it

The same few dozen names arrive on every message, so both readers look each one up once per
spelling rather than lower-casing it per line. A hostile peer's made-up names stay bounded.
"""

from __future__ import annotations

NAMES_SEEN = 512
"""Names remembered before a reader's dict starts over."""
NAME_KEPT = 64
"""The longest name remembered (the dict's size stays bounded in bytes too)."""


def learn(names: dict[bytes, bytes], kept: frozenset[bytes], name: bytes) -> bytes:
    """``name``'s lower-cased form if it is one of ``kept``, else b"", remembered in ``names``."""
    if len(names) >= NAMES_SEEN:
        names.clear()
    lower = name.lower()
    if lower not in kept:
        lower = b""
    if len(name) <= NAME_KEPT:
        names[name] = lower
    return lower

"""Whole numbers written in ASCII digits, and nothing else.

    ascii_int("42") == 42;  ascii_int("²") is None;  ascii_int("-1") is None

``str.isdigit()`` is true for "²" and other Unicode digits that ``int()``
refuses (or reads differently), so it never decides what ``int()`` may parse.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def ascii_int(text: str) -> int | None:
    return int(text) if _DIGITS.fullmatch(text) else None

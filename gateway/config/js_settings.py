"""Settings written as plain literals in a JavaScript or TypeScript config file, found without
running it.

    literal_settings("export default defineConfig({\\n  server: { hmr: false },\\n})")
    # [JsSetting(path=("server", "hmr"), value="false", line=2)]

A dev server's config (``vite.config.ts``, ``astro.config.mjs``) is code, and
only Node.js can run it. Most of it is an object literal, though, and a
setting that turns a reload off is written as one (``hmr: false``). This
reads the object keys around each ``false``, ``true`` or ``null`` value,
skipping strings, template literals and comments; a value computed at run
time (``hmr: isCI ? false : {}``) is not a literal and is not reported.
Call arguments and anonymous objects add no key: ``defineConfig({vite:
{server: {hmr: false}}})`` is ``vite.server.hmr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)
    |(?P<word>[A-Za-z_$][\w$]*)
    |(?P<punct>[{}()\[\]:,?])
    |(?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)
LITERALS = frozenset({"false", "true", "null"})


@dataclass(frozen=True)
class JsSetting:
    path: tuple[str, ...]
    """The object keys leading to it (``("server", "hmr")``)."""
    value: str
    """``false``, ``true`` or ``null``, as written."""
    line: int


def literal_settings(text: str) -> list[JsSetting]:
    """Every ``key: false|true|null`` in ``text`` with the keys of the objects around it."""
    tokens: list[tuple[str, str, int]] = []
    line, at = 1, 0
    for match in _TOKEN.finditer(text):
        line += text.count("\n", at, match.start())
        at = match.start()
        kind = match.lastgroup or "other"
        if kind != "comment":
            value = match.group()
            tokens.append((kind, value[1:-1] if kind == "string" else value, line))
    found: list[JsSetting] = []
    stack: list[str | None] = []
    for n, (kind, value, line) in enumerate(tokens):
        key = _key_before(tokens, n)
        if kind == "punct" and value in "{([":
            stack.append(key if value == "{" else None)
        elif kind == "punct" and value in "})]":
            if stack:
                stack.pop()
        elif kind == "word" and value in LITERALS and key is not None and _ends_value(tokens, n):
            found.append(JsSetting((*(k for k in stack if k is not None), key), value, line))
    return found


def _key_before(tokens: list[tuple[str, str, int]], n: int) -> str | None:
    """The key when ``tokens[n]`` follows ``key:`` in an object (not ``a ? b : c``)."""
    if n < 2 or tokens[n - 1][1] != ":" or tokens[n - 2][0] not in ("word", "string"):
        return None
    if n >= 3 and tokens[n - 3][1] not in ("{", ","):
        return None
    return tokens[n - 2][1]


def _ends_value(tokens: list[tuple[str, str, int]], n: int) -> bool:
    """Whether the literal at ``n`` is the whole value (``hmr: false,``, not ``false || x``)."""
    return n + 1 >= len(tokens) or tokens[n + 1][1] in (",", "}")

"""A Dockerfile as BuildKit reads it: its stages, the one a build targets, and variables.

    commands = parse(text)                  # or a str saying why it cannot be read
    chain = target_chain(stages(commands), "api")   # the target stage and those it is FROM

Parsed by BuildKit's own parser (PyPI's ``dockerfile``: continuation lines, JSON and shell
forms, heredocs, ``# escape=`` exactly as the build reads them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+])?(?P<word>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Command:
    cmd: str
    flags: tuple[str, ...]
    value: tuple[str, ...]
    json: bool
    line: int
    heredoc: bool


@dataclass(frozen=True)
class Stage:
    number: int
    name: str | None
    base: str
    commands: tuple[Command, ...]
    globals: Mapping[str, str | None]
    """ARGs declared before the first FROM (name -> default)."""


def parse(text: str) -> list[Command] | str:
    try:
        import dockerfile
    except ImportError:
        return "reading a Dockerfile needs the dockerfile package, which is not installed here"
    try:
        parsed: Any = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return f"the Dockerfile does not parse: {exc}"
    return [
        Command(c.cmd.upper(), tuple(c.flags), tuple(c.value), bool(c.json), c.start_line, bool(c.heredocs))
        for c in parsed
    ]


def stages(commands: list[Command]) -> list[Stage]:
    globals_: dict[str, str | None] = {}
    stages: list[Stage] = []
    current: list[Command] | None = None
    head: Command | None = None

    def close() -> None:
        if head is not None and current is not None:
            words = head.value
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), name, words[0] if words else "", tuple(current), globals_))

    for c in commands:
        if c.cmd == "FROM":
            close()
            head, current = c, []
        elif current is None:
            if c.cmd == "ARG":
                globals_.update(declared(c.value))
        else:
            current.append(c)
    close()
    return stages


def target_chain(stages: list[Stage], target: str | None) -> list[Stage] | str:
    """The target stage and the stages it is built FROM, the first first."""
    by_name = {s.name: s for s in stages if s.name}
    if target is None:
        goal = stages[-1]
    elif target.lower() in by_name:
        goal = by_name[target.lower()]
    else:
        return f"the Dockerfile has no stage named {target} (build.options --target)"
    chain = [goal]
    while chain[0].base.lower() in by_name and by_name[chain[0].base.lower()].number < chain[0].number:
        chain.insert(0, by_name[chain[0].base.lower()])
    return chain


def declared(words: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for word in words:
        key, eq, value = word.partition("=")
        out[key] = _unquote(value) if eq else None
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def command_line(steps: list[Command]) -> str:
    """The image's ENTRYPOINT and CMD as one command line."""
    entry = next((c for c in reversed(steps) if c.cmd == "ENTRYPOINT"), None)
    cmd = next((c for c in reversed(steps) if c.cmd == "CMD"), None)
    words = [*(entry.value if entry else ()), *(cmd.value if cmd else ())]
    return " ".join(words)


def substitute(text: str, values: Mapping[str, str | None]) -> str | None:
    """``text`` with ``$X``, ``${X}``, ``${X:-word}``, ``${X:+word}`` put in; None when a
    variable has no value here."""
    missing = False

    def put(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group("braced") or match.group("bare")
        value = values.get(name)
        op = match.group("op")
        if op and op.endswith("-"):
            return value if value else match.group("word")
        if op and op.endswith("+"):
            return match.group("word") if value else ""
        if value is None:
            missing = True
            return ""
        return value

    out = _VARIABLE.sub(put, text)
    return None if missing else out

"""The syntax of Serverless Framework variables: ``${source:address, fallback, ...}`` parsed
into a :data:`Template` (text and :class:`Variable` parts), as written and before anything is
resolved (:mod:`gateway.config.variables` resolves them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

FETCHED_SOURCES = ("ssm", "s3", "cf")
"""The sources scf-local reads from AWS itself (SSM parameters, S3 objects, CloudFormation
outputs; ``aws:accountId`` too, and ``${aws:ssm:...}``-style forms of these)."""
CLOUD_SOURCES = (*FETCHED_SOURCES, "aws", "vault", "terraform", "doppler", "secretsmanager", "kms")
"""Every source whose values live in a remote service: offline, or where scf-local does not
fetch it, such a value needs a fallback or ``--param``."""


# --- parsing ---------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    """A fallback written as a value: a quoted string, a number, true/false/null."""

    value: Any


@dataclass(frozen=True)
class Ref:
    """``source:address``; the address may itself contain variables."""

    source: str
    address: Template


@dataclass(frozen=True)
class Variable:
    """``${first, fallback, ...}`` as written (``text``)."""

    candidates: tuple[Ref | Constant | Variable, ...]
    text: str


Template = tuple["str | Variable", ...]

_SOURCE = re.compile(r"^\s*([A-Za-z][\w-]*(?:\([^)]*\))?):(.*)$", re.S)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class VariableSyntaxError(ValueError):
    pass


def parse_template(text: str) -> Template:
    """Split ``text`` into literal runs and :class:`Variable` parts."""
    parts: list[str | Variable] = []
    literal = ""
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            end = _closing_brace(text, i)
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(_parse_variable(text[i + 2 : end], text[i : end + 1]))
            i = end + 1
        else:
            literal += text[i]
            i += 1
    if literal:
        parts.append(literal)
    return tuple(parts)


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"" and depth > 0:
            quote = ch
        elif text.startswith("${", i):
            depth += 1
            i += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise VariableSyntaxError(f"unterminated variable '{text[start:]}' (no closing '}}')")


def _split_top_level(inner: str) -> list[str]:
    pieces: list[str] = []
    depth = 0
    quote = ""
    current = ""
    i = 0
    while i < len(inner):
        ch = inner[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif inner.startswith("${", i):
            depth += 1
            current += "${"
            i += 2
            continue
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append(current)
            current = ""
            i += 1
            continue
        current += ch
        i += 1
    pieces.append(current)
    return pieces


def _parse_variable(inner: str, text: str) -> Variable:
    pieces = _split_top_level(inner)
    candidates = [_parse_candidate(p.strip(), text, first=(n == 0)) for n, p in enumerate(pieces)]
    return Variable(tuple(candidates), text)


def _parse_candidate(piece: str, text: str, first: bool) -> Ref | Constant | Variable:
    if not piece:
        raise VariableSyntaxError(f"empty part in variable '{text}'")
    if piece.startswith("${") and piece.endswith("}") and _closing_brace(piece, 0) == len(piece) - 1:
        return _parse_variable(piece[2:-1], piece)
    if not first:
        if piece[0] in "'\"":
            if len(piece) < 2 or piece[-1] != piece[0]:
                raise VariableSyntaxError(f"unterminated quote in fallback {piece} of '{text}'")
            return Constant(piece[1:-1])
        if _NUMBER.match(piece):
            return Constant(float(piece) if "." in piece else int(piece))
        if piece in ("true", "false"):
            return Constant(piece == "true")
        if piece == "null":
            return Constant(None)
    match = _SOURCE.match(piece)
    if not match:
        raise VariableSyntaxError(
            f"'{text}' is not a variable reference: "
            "write ${source:address}, e.g. ${env:NAME} or ${param:name}"
        )
    return Ref(match.group(1), parse_template(match.group(2).strip()))


# --- resolution ------------------------------------------------------------

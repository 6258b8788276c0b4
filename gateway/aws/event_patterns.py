"""EventBridge's event patterns: does a rule's pattern match an event?

    matches({"source": ["shop"], "detail": {"total": [{"numeric": [">=", 100]}]}},
            {"source": "shop", "detail-type": "order", "detail": {"total": 120}})  # True

Pure, as AWS documents it in "Amazon EventBridge event patterns"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html) and
"Content filtering in Amazon EventBridge event patterns"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
with the edges those pages leave open settled as EventBridge's own matcher (aws/event-ruler)
settles them:

- A pattern is matched against the whole event, so its top-level keys are the event's
  (``source``, ``detail-type``, ``account``, ``region``, ``time``, ``resources``, ``detail``...).
  Keys AND together; the values of one key's array OR together; ``$or`` ORs whole objects.
- A value in the event that is an array matches when one of its elements does; an object
  pattern over an array of objects needs one element to match all of it.
- Exact values match by type: ``"5"`` is not ``5``, ``true`` is not ``1``, ``null`` is not
  ``""``; numbers compare as numbers (``300`` is ``300.0``).
- ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard`` and ``cidr`` match strings only;
  ``numeric`` matches numbers only, from -5.0e9 to 5.0e9 with at most six decimals.
- ``exists`` looks at leaves: a field holding ``null`` exists; an object, an empty object or
  an empty array is no leaf, so ``exists: true`` does not match it and ``exists: false`` does.
- ``anything-but`` matches a present value not excluded (a missing field is not matched).

The grammar (what ``PutRule`` refuses) is :mod:`gateway.config.event_pattern_rules`, whose
:func:`validate_pattern` is re-exported here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from gateway.config.event_pattern_rules import PatternError, comparable_number, validate_pattern

__all__ = ["PatternError", "matches", "validate_pattern"]

_NO_LEAVES: tuple[Any, ...] = ()


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` (a JSON object, as EventBridge delivers it) matches ``pattern``.

    ``pattern`` is assumed valid (see :func:`validate_pattern`); parts EventBridge would refuse
    match nothing rather than raise."""
    return _object(pattern, event)


def _object(pattern: Mapping[str, Any], node: Any) -> bool:
    if isinstance(node, list):
        return any(_object(pattern, element) for element in _flat(node))
    fields = node if isinstance(node, Mapping) else {}
    for key, sub in pattern.items():
        if key == "$or":
            if not isinstance(sub, list) or not any(
                isinstance(alt, Mapping) and _object(alt, fields) for alt in sub
            ):
                return False
        elif isinstance(sub, Mapping):
            if not _object(sub, fields.get(key)):
                return False
        elif isinstance(sub, list):
            if not _field(sub, _leaves(fields[key]) if key in fields else _NO_LEAVES):
                return False
        else:
            return False
    return True


def _flat(values: list[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flat(value)
        else:
            yield value


def _leaves(value: Any) -> tuple[Any, ...]:
    """The scalar values at a field: its value, or its array's scalar elements."""
    if isinstance(value, list):
        return tuple(v for v in _flat(value) if not isinstance(v, Mapping))
    if isinstance(value, Mapping):
        return _NO_LEAVES
    return (value,)


def _field(filters: list[Any], leaves: tuple[Any, ...]) -> bool:
    for f in filters:
        if isinstance(f, Mapping):
            if len(f) != 1:
                continue
            ((name, arg),) = f.items()
            if name == "exists":
                if arg is (len(leaves) > 0):
                    return True
                continue
            if any(_operator(name, arg, leaf) for leaf in leaves):
                return True
        elif any(_equal(f, leaf) for leaf in leaves):
            return True
    return False


def _equal(expected: Any, value: Any) -> bool:
    if expected is None or isinstance(expected, bool):
        return value is expected
    if isinstance(expected, str):
        return isinstance(value, str) and value == expected
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _decimal(expected) == _decimal(value)
    return False


def _decimal(number: int | float) -> Decimal | None:
    try:
        return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
    except ArithmeticError:
        return None


def _operator(name: str, arg: Any, value: Any) -> bool:
    if name == "anything-but":
        return _anything_but(arg, value)
    if name == "numeric":
        return _numeric(arg, value)
    if not isinstance(value, str):
        return False
    if name in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        return _text(name, arg, value)
    if name == "cidr":
        return _in_cidr(arg, value)
    return False


def _text(name: str, arg: Any, value: str) -> bool:
    if isinstance(arg, Mapping) and name in ("prefix", "suffix"):
        arg = arg.get("equals-ignore-case")
        if not isinstance(arg, str):
            return False
        value, arg = value.lower(), arg.lower()
    if not isinstance(arg, str):
        return False
    if name == "prefix":
        return value.startswith(arg)
    if name == "suffix":
        return value.endswith(arg)
    if name == "equals-ignore-case":
        return value.lower() == arg.lower()
    return _wildcard(arg).fullmatch(value) is not None


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        if len(arg) != 1:
            return False
        ((name, inner),) = arg.items()
        excluded = inner if isinstance(inner, list) else [inner]
        if not isinstance(value, str):
            return True  # a string test never excludes a number, boolean or null
        return not any(_text(name, text, value) for text in excluded)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(e, value) for e in excluded)


def _numeric(arg: Any, value: Any) -> bool:
    number = comparable_number(value)
    if number is None or not isinstance(arg, list) or len(arg) % 2:
        return False
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        limit = comparable_number(bound)
        if limit is None:
            return False
        ok = {
            "=": number == limit,
            "<": number < limit,
            "<=": number <= limit,
            ">": number > limit,
            ">=": number >= limit,
        }.get(op, False)
        if not ok:
            return False
    return True


def _in_cidr(block: Any, value: str) -> bool:
    network = _network(block) if isinstance(block, str) else None
    if network is None:
        return False
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == network.version and address in network


@lru_cache(maxsize=256)
def _network(block: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(block, strict=False) if "/" in block else None
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; ``\\*`` is a star and ``\\\\`` a backslash."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)

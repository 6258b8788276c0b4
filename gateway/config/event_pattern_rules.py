"""What an EventBridge event pattern may say: the grammar ``PutRule`` accepts.

    validate_pattern({"detail": {"price": [{"numeric": [">", 0, "<=", 100]}]}})  # fine
    validate_pattern({"detail": {"price": [{"numeric": [">", "0"]}]}})
    # PatternError: detail.price[0].numeric[1]: the value after '>' must be a number, not "0"

The rules are those of AWS's "Content filtering in Amazon EventBridge event patterns"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html)
and of the rule compiler EventBridge runs (aws/event-ruler, ``JsonRuleCompiler``): every value is
an object or a non-empty array; an array holds strings, numbers, booleans, null or one-key
operator objects; ``$or`` holds at least two objects; numbers lie within +/-5.0e9 with at most six
decimals. Matching is :mod:`gateway.aws.event_patterns`; this module sits in the config layer so
that loading a configuration can reject a pattern with its file, line and key
(:func:`check_integration_patterns`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.errors import ConfigError

PatternPath = tuple[str | int, ...]

DOCS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html"
)
NUMERIC_LIMIT = Decimal("5e9")
"""Numeric matching works on values from -5.0e9 to +5.0e9 inclusive ..."""
NUMERIC_DECIMALS = 6
"""... with six digits to the right of the decimal point."""
MAX_PATTERN_LENGTH = 4096
"""PutRule's limit on EventPattern, as JSON text."""
STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
OPERATORS = (*STRING_OPERATORS, "anything-but", "numeric", "exists", "cidr")
LOWER_BOUNDS = (">", ">=")
UPPER_BOUNDS = ("<", "<=")
SCF_TOP_FIELDS = ("source", "detail-type", "detail")


class PatternError(ValueError):
    """An event pattern EventBridge would refuse: ``path`` inside the pattern, ``message``, ``hint``."""

    def __init__(self, path: PatternPath, message: str, hint: str = "") -> None:
        self.path = path
        self.message = message
        self.hint = hint
        where = _dotted(path)
        super().__init__(f"{where}: {message}" if where else message)


def validate_pattern(pattern: Any) -> None:
    """Raise :class:`PatternError` naming the first thing EventBridge would refuse in ``pattern``."""
    if not isinstance(pattern, Mapping):
        raise PatternError((), f"an event pattern is a JSON object, not {_kind(pattern)}")
    try:
        text = json.dumps(pattern, separators=(",", ":"))
    except (TypeError, ValueError):
        text = ""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError((), f"is {len(text)} characters as JSON; EventBridge allows {MAX_PATTERN_LENGTH}")
    _object(pattern, ())


def comparable_number(value: Any) -> Decimal | None:
    """``value`` as a number EventBridge compares, or None (not a number, out of range, too precise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # nan, inf
        return None
    if not number.is_finite() or abs(number) > NUMERIC_LIMIT:
        return None
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -NUMERIC_DECIMALS:
        return None
    return number


def check_integration_patterns(
    integrations: Any,
    path: PatternPath,
    error: Callable[[PatternPath, str, str], ConfigError],
) -> None:
    """Check the ``pattern`` of each ``type: awsEventBridge`` integration under ``path``;
    ``error(key_path, message, hint)`` makes the located error to raise."""
    if not isinstance(integrations, Mapping):
        return  # the integrations' own shape is checked where they are read
    for name, entry in integrations.items():
        if not isinstance(entry, Mapping) or entry.get("type") != "awsEventBridge":
            continue
        where = (*path, name, "pattern")
        pattern = entry.get("pattern")
        if pattern is None:
            raise error(
                where,
                "is required for an awsEventBridge integration",
                'For example: pattern: {source: ["my.app"], detail-type: ["order.created"]}',
            )
        try:
            validate_pattern(pattern)
        except PatternError as exc:
            raise error((*where, *exc.path), exc.message, exc.hint or f"See {DOCS}") from None
        if isinstance(pattern, Mapping) and not any(k in pattern for k in SCF_TOP_FIELDS):
            raise error(
                where,
                "names none of source, detail-type and detail",
                "SCF deploys a pattern only when it has at least one of them.",
            )


# the grammar, node by node


def _object(node: Mapping[str, Any], path: PatternPath) -> None:
    if not node:
        raise PatternError(path, "is an empty object, which EventBridge does not allow", "Remove it.")
    for key, value in node.items():
        here = (*path, key)
        if key == "$or":
            _or(value, here)
        elif isinstance(value, Mapping):
            _object(value, here)
        elif isinstance(value, list):
            _values(value, here)
        else:
            raise PatternError(
                here,
                f"is {_kind(value)}; a pattern's value must be an array or an object",
                f"Put the value in an array: {key}: [{json.dumps(value)}]",
            )


def _or(value: Any, path: PatternPath) -> None:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise PatternError(path, "must be an array of objects, one per alternative")
    if len(value) < 2:
        raise PatternError(path, "must hold at least 2 objects", "With one alternative, drop the $or.")
    for i, alternative in enumerate(value):
        _object(alternative, (*path, i))


def _values(values: list[Any], path: PatternPath) -> None:
    if not values:
        raise PatternError(
            path, "is an empty array, which EventBridge does not allow", 'To match "", write [""].'
        )
    for i, value in enumerate(values):
        here = (*path, i)
        if isinstance(value, Mapping):
            _operator(value, here)
        elif isinstance(value, (list, tuple)):
            raise PatternError(here, "is an array; match values are strings, numbers, booleans or null")


def _operator(node: Mapping[str, Any], path: PatternPath) -> None:
    if len(node) != 1:
        raise PatternError(
            path,
            f"has {len(node)} keys; an operator object has exactly one",
            "Write each operator in its own object: [{prefix: a}, {suffix: b}]",
        )
    ((name, arg),) = node.items()
    here = (*path, name)
    if name in ("prefix", "suffix"):
        _string_or_ignore_case(arg, here)
    elif name in ("equals-ignore-case", "wildcard"):
        _string(arg, here)
        if name == "wildcard":
            _wildcard(arg, here)
    elif name == "anything-but":
        _anything_but(arg, here)
    elif name == "numeric":
        _numeric(arg, here)
    elif name == "exists":
        if not isinstance(arg, bool):
            raise PatternError(here, f"is {_kind(arg)}; it must be true or false")
    elif name == "cidr":
        _cidr(arg, here)
    else:
        raise PatternError(
            here, f"'{name}' is not an EventBridge operator", "Use one of: " + ", ".join(OPERATORS)
        )


def _string(arg: Any, path: PatternPath) -> None:
    if not isinstance(arg, str):
        raise PatternError(path, f"is {_kind(arg)}; it must be a string")


def _string_or_ignore_case(arg: Any, path: PatternPath) -> None:
    if isinstance(arg, Mapping):
        if list(arg) != ["equals-ignore-case"]:
            raise PatternError(
                path,
                "may only hold equals-ignore-case",
                f"For example: {{{path[-1]}: {{equals-ignore-case: abc}}}}",
            )
        _string(arg["equals-ignore-case"], (*path, "equals-ignore-case"))
    else:
        _string(arg, path)


def _anything_but(arg: Any, path: PatternPath) -> None:
    if isinstance(arg, Mapping):
        if len(arg) != 1 or next(iter(arg)) not in STRING_OPERATORS:
            raise PatternError(path, "may hold one of " + ", ".join(STRING_OPERATORS))
        ((name, inner),) = arg.items()
        here = (*path, name)
        for text in inner if isinstance(inner, list) and inner else [inner]:
            _string(text, here)
            if name in ("prefix", "suffix") and not text:
                raise PatternError(here, f"an empty {name} is not allowed here")
            if name == "wildcard":
                _wildcard(text, here)
        return
    items = arg if isinstance(arg, list) else [arg]
    strings = all(isinstance(v, str) for v in items)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items)
    if not items or not (strings or numbers):
        raise PatternError(
            path,
            "must be a string, a number, or a non-empty list of only strings or only numbers",
            "null and booleans cannot be excluded; use exists for null.",
        )
    if numbers:
        for v in items:
            _number(v, path)


def _numeric(arg: Any, path: PatternPath) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(
            path,
            "must be [operator, number] or [lower, number, upper, number]",
            'For example: [">", 0, "<=", 5]',
        )
    for i in range(0, len(arg), 2):
        op, number = arg[i], arg[i + 1]
        allowed = ("=", *LOWER_BOUNDS, *UPPER_BOUNDS) if i == 0 else UPPER_BOUNDS
        if len(arg) == 4 and i == 0:
            allowed = LOWER_BOUNDS
        if op not in allowed:
            raise PatternError(
                (*path, i), f"{_kind(op)} is not allowed here; use one of " + ", ".join(allowed)
            )
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise PatternError(
                (*path, i + 1), f"the value after '{op}' must be a number, not {_kind(number)}"
            )
        _number(number, (*path, i + 1))
    if len(arg) == 4 and Decimal(repr(arg[1])) >= Decimal(repr(arg[3])):
        raise PatternError(path, f"the range is empty: {arg[1]} is not below {arg[3]}")


def _number(value: Any, path: PatternPath) -> None:
    if comparable_number(value) is None:
        raise PatternError(
            path,
            f"{value!r} cannot be compared: EventBridge compares numbers from -5.0e9 to 5.0e9 "
            "with at most 6 decimals",
        )


def _wildcard(text: str, path: PatternPath) -> None:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "*\\":
                raise PatternError(path, f"invalid escape at position {i}", r"Only \* and \\ are escapes.")
            i += 2
            continue
        if text[i] == "*" and text[i + 1 : i + 2] == "*":
            raise PatternError(path, f"consecutive wildcard characters at position {i}", "Write one *.")
        i += 1


def _cidr(arg: Any, path: PatternPath) -> None:
    _string(arg, path)
    try:
        if "/" not in arg:
            raise ValueError
        ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise PatternError(
            path, f"{arg!r} is not a CIDR block", "For example: 10.0.0.0/24 or 2001:db8::/32"
        ) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return json.dumps(value) if isinstance(value, (str, bool, int, float)) else type(value).__name__


def _dotted(path: PatternPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

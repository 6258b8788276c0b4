"""YAML read as SCF reads it: js-yaml 4's default schema, plus CloudFormation's short tags.

The Serverless Framework loads ``serverless.containers.yml`` with js-yaml's
``load`` and ``DEFAULT_SCHEMA`` extended with the CloudFormation intrinsic
tags (``packages/serverless/lib/configuration/read.js`` and
``packages/sf-core/src/utils/fs/cloudformation-schema.js``). That schema is
YAML 1.2's core schema, not PyYAML's YAML 1.1 one, so:

    DEBUG: on      -> "on"   (PyYAML: True)        MODE: 0755   -> 755    (PyYAML: 493)
    FLAG: yes      -> "yes"  (PyYAML: True)        SIZE: 1_000  -> "1_000" (PyYAML: 1000)
    WHEN: 1:30     -> "1:30" (PyYAML: 90)          !Ref Bucket  -> {"Ref": "Bucket"}

and mapping keys are strings, as in JavaScript. :class:`ScfLoader` is a
PyYAML loader whose plain scalars are resolved by :func:`plain_scalar`, which
follows js-yaml's rules (``lib/type/{null,bool,int,float,timestamp}.js``);
``tests/unit/test_yaml_as_scf_reads_it.py`` checks it against js-yaml itself.
:func:`js_string` turns a value into the text JavaScript's ``String()`` gives.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

import yaml

PLAIN = "tag:scf-local,2025:plain"
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)")
_FLOAT = re.compile(
    r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9]{2}))?))?"
)
_SAFE_INTEGER = 2**53
_CLOUDFORMATION = [
    "And",
    "Base64",
    "Cidr",
    "Condition",
    "Equals",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Ref",
    "Select",
    "Split",
    "Sub",
]


def plain_scalar(text: str) -> Any:
    """The value js-yaml gives an unquoted scalar (first match: null, bool, int, float, timestamp)."""
    if _NULL.fullmatch(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.fullmatch(text):
        return _integer(text)
    if _FLOAT.fullmatch(text):
        lowered = text.lower()
        if lowered.lstrip("+-") in (".inf", ".nan"):
            return float(lowered.replace(".", ""))
        value = float(text)
        return value if math.isfinite(value) else text  # js-yaml: an overflowing literal stays a string
    timestamp = _timestamp(text)
    return text if timestamp is None else timestamp


def _integer(text: str) -> int | float:
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    base = {"0b": 2, "0x": 16, "0o": 8}.get(digits[:2], 10)
    value = sign * int(digits[2:] if base != 10 else digits, base)
    return float(value) if abs(value) > _SAFE_INTEGER else value  # a JavaScript number


def _timestamp(text: str) -> dt.datetime | None:
    date = _DATE.fullmatch(text)
    if date is not None:
        year, month, day = (int(g) for g in date.groups())
        return _utc(year, month, day)
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in found.groups()[:6])
    fraction, _, sign, tz_hour, tz_minute = found.groups()[6:]
    millis = int((fraction or "")[:3].ljust(3, "0"))
    moment = _utc(year, month, day, hour, minute, second, millis)
    if moment is not None and sign:
        delta = dt.timedelta(hours=int(tz_hour), minutes=int(tz_minute or 0))
        moment = moment - delta if sign == "+" else moment + delta
    return moment


def _utc(*fields: int) -> dt.datetime | None:
    year, month, day, *rest = fields
    hour, minute, second, millis = (*rest, 0, 0, 0, 0)[:4]
    try:  # JavaScript's Date.UTC rolls over out-of-range fields; such dates are rare enough to refuse
        return dt.datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def js_string(value: Any) -> str:
    """``String(value)`` in JavaScript, for the values YAML produces."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, dt.datetime):  # Date.prototype.toISOString, as JSON serialises it
        moment = value.astimezone(dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def _js_number(value: float) -> str:
    """Number.prototype.toString: the shortest digits that round-trip (as ``repr``), laid out
    as ECMAScript's Number::toString lays them out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    exact = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, exponent = exact.as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k  # value = 0.digits x 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        power = n - 1
        text = (
            digits[0] + (f".{digits[1:]}" if k > 1 else "")
        ) + f"e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + text


class ScfLoader(yaml.SafeLoader):
    """PyYAML, resolving and constructing as js-yaml's default schema does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Keys become strings as they are read (so ``1`` and ``true`` stay two keys), merges apply."""
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            mapping[key if isinstance(key, str) else js_string(key)] = self.construct_object(
                value_node, deep=deep
            )
        return mapping


ScfLoader.yaml_implicit_resolvers = {}
ScfLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])
ScfLoader.add_implicit_resolver(PLAIN, re.compile(r"(?s).*"), None)
ScfLoader.add_constructor(PLAIN, lambda loader, node: plain_scalar(node.value))


def _cloudformation(name: str) -> None:
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                first, _, rest = str(value).partition(".")
                value = [first, rest]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            assert isinstance(node, yaml.MappingNode)
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    ScfLoader.add_constructor(f"!{name}", construct)


for _name in _CLOUDFORMATION:
    _cloudformation(_name)


def load_text(text: str) -> Any:
    """One YAML document, as SCF would read it."""
    return yaml.load(text, Loader=ScfLoader)

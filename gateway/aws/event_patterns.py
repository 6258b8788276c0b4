"""PLACEHOLDER: EventBridge event patterns, exact values and nesting only.

    matches({"source": ["shop"], "detail": {"state": ["paid"]}}, event)   # True or False

This module stands in until the full content-filter language (prefix, suffix,
anything-but, numeric, exists, wildcard, cidr, ``$or``...) replaces it, with the same
signature. Here a pattern's leaf is a list of allowed values (the event's value, or any
item of an array value, equals one of them) and a mapping descends into the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    for key, wanted in pattern.items():
        if isinstance(wanted, Mapping):
            inner = event.get(key)
            if not isinstance(inner, Mapping) or not matches(wanted, inner):
                return False
            continue
        if key not in event:
            return False
        value = event[key]
        values = value if isinstance(value, list) else [value]
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if not any(v == a and type(v) is type(a) for v in values for a in allowed):
            return False
    return True

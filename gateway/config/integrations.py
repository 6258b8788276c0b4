"""A container's ``integrations``, checked key by key (SCF's configuration guide).

    integrations:
      nightly:   {type: schedule, schedule: "cron(0 3 * * ? *)"}
      orders:    {type: awsEventBridge, pattern: {source: [shop]}, webhookPath: /events/orders}
      bot:       {type: slack}

The schedule expression itself is checked by :mod:`gateway.aws.schedule_expressions` (AWS's
rules live there); here only the shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gateway.config.event_pattern_rules import check_integration_patterns
from gateway.config.model import Integration, IntegrationType
from gateway.config.yamlsrc import KeyPath
from gateway.errors import ConfigError


class Checker(Protocol):
    """What :class:`gateway.config.checks.Checker` offers here."""

    def error(self, path: KeyPath, message: str, hint: str = "") -> ConfigError: ...

    def warn(self, path: KeyPath, message: str, hint: str = "") -> None: ...

    def mapping(self, value: Any, path: KeyPath, what: str = "a mapping of keys") -> Mapping[str, Any]: ...

    def string(self, value: Any, path: KeyPath, required: bool = False, example: str = "") -> str | None: ...


TYPES: tuple[IntegrationType, ...] = ("schedule", "awsEventBridge", "slack")
KEYS: Mapping[str, tuple[str, ...]] = {
    "schedule": ("type", "schedule", "webhookPath"),
    "awsEventBridge": ("type", "pattern", "webhookPath"),
    "slack": ("type", "name", "socketMode", "webhookPath", "credentials"),
}

_SUFFIX: Mapping[str, str] = {"schedule": "schedule", "awsEventBridge": "eventbridge", "slack": "slack"}


def integrations(check: Checker, raw: Any, path: KeyPath) -> tuple[Integration, ...]:
    check_integration_patterns(raw, path, check.error)  # EventBridge's own rules, one owner
    found = []
    for name, value in check.mapping(raw, path, "a mapping of integration names").items():
        found.append(_one(check, str(name), value, (*path, str(name))))
    return tuple(found)


def _one(check: Checker, name: str, raw: Any, path: KeyPath) -> Integration:
    data = check.mapping(raw, path)
    kind = check.string(data.get("type"), (*path, "type"), required=True, example="schedule")
    if kind not in TYPES:
        raise check.error(
            (*path, "type"), f"unknown integration type '{kind}'", f"Use one of {', '.join(TYPES)}."
        )
    for key in data:
        if key not in KEYS[kind]:
            check.warn(
                (*path, str(key)),
                f"is not a key of a {kind} integration",
                f"Its keys: {', '.join(KEYS[kind])}.",
            )
    webhook = check.string(data.get("webhookPath"), (*path, "webhookPath"))
    if webhook is not None and not webhook.startswith("/"):
        raise check.error(
            (*path, "webhookPath"), f"is '{webhook}': a path starting with /", "For example: /jobs/nightly"
        )
    # SCF's code (its guide says /integrations/<name>/...); Slack's is SCF's too
    default = f"/v1/integrations/{name}/{_SUFFIX[kind]}"
    schedule = None
    pattern = None
    if kind == "schedule":
        schedule = check.string(
            data.get("schedule"), (*path, "schedule"), required=True, example="rate(1 hour)"
        )
    elif kind == "awsEventBridge":
        pattern = check.mapping(data.get("pattern"), (*path, "pattern"), "an EventBridge event pattern")
    return Integration(name, kind, webhook or default, schedule=schedule, pattern=pattern)

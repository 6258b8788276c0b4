"""The events EventBridge delivers, and how an API destination delivers them (pure).

    scheduled_event(account="123456789012", region="us-east-1", rule=rule_name("app", "jobs", "nightly"),
                    at=datetime(2026, 1, 2, 10, tzinfo=UTC))
    accepted = put_events_entries([{"Source": "shop", "DetailType": "Order", "Detail": "{}"}], ...)

SCF deploys each ``schedule`` and ``awsEventBridge`` integration as one rule on the default bus
whose target is an API destination: no input transformer, so the body is the event itself
(../shared/reference/scf-integrations.md). The envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
(``version`` "0", ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``,
``resources``, ``detail``); a schedule's: ``"detail-type": "Scheduled Event"``,
``"source": "aws.events"``, ``resources`` the rule's ARN, ``detail`` {}.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.aws.schedule_expressions import iso

MAX_ENTRIES = 10
"""PutEvents takes 1 to 10 entries (its API reference, ``Entries``)."""


def rule_name(app: str, container: str, integration: str) -> str:
    """The rule SCF creates: ``<app>-<container>-<integration>-rule``, cut to 64 characters with
    8 hex digits of its SHA-256 (SCF's ``createEntityName``)."""
    full = f"{app}-{container}-{integration}-rule"
    if len(full) <= 64:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: 64 - 1 - len(digest)]}-{digest}"


def rule_arn(region: str, account: str, rule: str) -> str:
    return f"arn:aws:events:{region}:{account}:rule/{rule}"


def scheduled_event(*, account: str, region: str, rule: str, at: datetime) -> dict[str, Any]:
    """What a schedule's rule sends at ``at`` (its scheduled time)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso(at),
        "region": region,
        "resources": [rule_arn(region, account, rule)],
        "detail": {},
    }


@dataclass(frozen=True)
class Accepted:
    """One PutEvents entry: the event it became (None: refused, with why)."""

    event: dict[str, Any] | None
    answer: dict[str, str]
    """Its ``Entries`` item: ``EventId``, or ``ErrorCode`` and ``ErrorMessage``."""
    bus: str = "default"


class TooManyEntries(ValueError):
    """The whole request is refused (PutEvents' ``ValidationException``)."""


def put_events_entries(entries: Sequence[Any], *, account: str, region: str, now: datetime) -> list[Accepted]:
    """Each entry as PutEvents takes it, in order; :class:`TooManyEntries` beyond 10."""
    if not entries or len(entries) > MAX_ENTRIES:
        raise TooManyEntries(
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length between 1 and {MAX_ENTRIES} ({len(entries)} given)"
        )
    return [_entry(e, account, region, now) for e in entries]


def put_events_answer(accepted: Sequence[Accepted]) -> dict[str, Any]:
    return {
        "FailedEntryCount": sum(1 for a in accepted if a.event is None),
        "Entries": [a.answer for a in accepted],
    }


def _refused(code: str, message: str) -> Accepted:
    return Accepted(None, {"ErrorCode": code, "ErrorMessage": message})


def _required(name: str) -> Accepted:
    return _refused(
        "InvalidArgument", f"Parameter {name} is not valid. Reason: {name} is a required argument."
    )


def _entry(entry: Any, account: str, region: str, now: datetime) -> Accepted:
    if not isinstance(entry, Mapping):
        return _refused("InvalidArgument", "An entry is an object (Source, DetailType, Detail, ...).")
    for name in ("Source", "DetailType", "Detail"):
        if not isinstance(entry.get(name), str) or not entry.get(name):
            return _required(name)
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):  # "Detail: a valid JSON object"
        return _refused("MalformedDetail", "Detail is malformed.")
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return _refused("InvalidArgument", "Parameter Resources is not valid: a list of ARNs (strings).")
    at = _time(entry.get("Time"), now)
    if at is None:
        return _refused("InvalidArgument", "Parameter Time is not valid: epoch seconds or an ISO 8601 time.")
    event_id = str(uuid.uuid4())
    event = {
        "version": "0",
        "id": event_id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": iso(at),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }
    return Accepted(event, {"EventId": event_id}, bus_name(entry.get("EventBusName")))


def bus_name(given: Any) -> str:
    """``EventBusName`` is a name or an ARN (``...:event-bus/<name>``); none is ``default``."""
    if not isinstance(given, str) or not given:
        return "default"
    return given.rsplit("event-bus/", 1)[-1] if given.startswith("arn:") else given


def _time(given: Any, now: datetime) -> datetime | None:
    if given is None or given == "":
        return now
    if isinstance(given, int | float) and not isinstance(given, bool):
        return datetime.fromtimestamp(given, UTC)
    if isinstance(given, str):
        try:
            moment = datetime.fromisoformat(given.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None

"""Lambda's Telemetry API (2022-07-01) and Logs API (2020-08-15), without the HTTP.

An extension subscribes with ``PUT /2022-07-01/telemetry`` (or the older
``PUT /2020-08-15/logs``); Lambda then POSTs it batches of events (a JSON array)
at the destination it named, inside its own sandbox (``http://sandbox.localdomain:<port>``),
or writes them to a TCP port one JSON object per line. What is here: reading a
subscription as Lambda validates it, the records of each event type, and one
subscriber's buffer, flushed at ``maxItems``, ``maxBytes`` or ``timeoutMs``.

    subscription = parse_subscription("telemetry", body)    # SubscriptionError: a 400
    event = telemetry_event("platform.start", {"requestId": ..., "version": "$LATEST"})
    buffer = Buffer(subscription.buffering)
    if buffer.add(encode(event)): send(buffer.take())

Sources: the Lambda developer guide, "Lambda Telemetry API reference" (subscription
fields, buffering limits, destination), "Telemetry API Event schema reference" (the
records), "Lambda Logs API" (its schema 2021-03-18); the Runtime Interface Emulator's
telemetry subscriber (aws/aws-lambda-runtime-interface-emulator, batch and client:
a batch is sent when full or when its timer started by the first event fires; HTTP
POST with ``Content-Type: application/json``; TCP: newline-delimited JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import urlsplit

Api = Literal["telemetry", "logs"]
PATHS: dict[str, Api] = {"/2022-07-01/telemetry": "telemetry", "/2020-08-15/logs": "logs"}
CATEGORIES = frozenset({"platform", "function", "extension"})
SCHEMA_VERSIONS: dict[Api, frozenset[str]] = {
    "telemetry": frozenset({"2022-07-01", "2022-12-13", "2025-01-29"}),
    "logs": frozenset({"2020-08-15", "2021-03-18"}),
}
SANDBOX_HOSTS = frozenset({"sandbox.localdomain", "sandbox"})


@dataclass(frozen=True)
class Limit:
    default: int
    low: int
    high: int


LIMITS: dict[str, Limit] = {
    "maxItems": Limit(1000, 1000, 10000),
    "maxBytes": Limit(262144, 262144, 1048576),
    "timeoutMs": Limit(1000, 25, 30000),
}
LOGS_DEFAULT_ITEMS = 10000
"""The Logs API buffers up to 10,000 events by default (the Telemetry API 1,000)."""


class SubscriptionError(ValueError):
    """Lambda answers 400 ``ValidationError`` with this message."""


@dataclass(frozen=True)
class Buffering:
    max_items: int = 1000
    max_bytes: int = 262144
    timeout_ms: int = 1000


@dataclass(frozen=True)
class Subscription:
    api: Api
    types: frozenset[str]
    buffering: Buffering
    protocol: Literal["HTTP", "TCP"]
    port: int
    path: str = "/"
    """The destination's path (HTTP)."""
    schema_version: str = ""


def parse_subscription(api: Api, body: bytes) -> Subscription:
    """A subscription request's body as Lambda validates it."""
    try:
        value = json.loads(body or b"null")
    except ValueError as exc:
        raise SubscriptionError(f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SubscriptionError("the body must be a JSON object")
    version = value.get("schemaVersion")
    if api == "telemetry" and version not in SCHEMA_VERSIONS[api]:
        raise SubscriptionError(
            f"schemaVersion must be one of {', '.join(sorted(SCHEMA_VERSIONS[api]))}, not {version!r}"
        )
    if api == "logs" and version is not None and version not in SCHEMA_VERSIONS[api]:
        raise SubscriptionError(f"schemaVersion must be one of {', '.join(sorted(SCHEMA_VERSIONS[api]))}")
    types = value.get("types")
    if not isinstance(types, list) or not types or not all(t in CATEGORIES for t in types):
        raise SubscriptionError('types must be a non-empty list of "platform", "function", "extension"')
    buffering = _buffering(api, value.get("buffering"))
    protocol, port, path = _destination(value.get("destination"))
    return Subscription(api, frozenset(types), buffering, protocol, port, path, str(version or ""))


def _buffering(api: Api, value: Any) -> Buffering:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise SubscriptionError("buffering must be an object")
    chosen: dict[str, int] = {}
    for key, limit in LIMITS.items():
        given = value.get(key)
        if given is None:
            chosen[key] = LOGS_DEFAULT_ITEMS if (api == "logs" and key == "maxItems") else limit.default
            continue
        if isinstance(given, bool) or not isinstance(given, int) or not limit.low <= given <= limit.high:
            raise SubscriptionError(f"buffering.{key} must be an integer from {limit.low} to {limit.high}")
        chosen[key] = given
    return Buffering(chosen["maxItems"], chosen["maxBytes"], chosen["timeoutMs"])


def _destination(value: Any) -> tuple[Literal["HTTP", "TCP"], int, str]:
    if not isinstance(value, dict):
        raise SubscriptionError(
            'destination must be an object: {"protocol": "HTTP", "URI": "http://sandbox.localdomain:<port>"}'
        )
    protocol = value.get("protocol")
    if protocol not in ("HTTP", "TCP"):
        raise SubscriptionError('destination.protocol must be "HTTP" or "TCP"')
    if protocol == "TCP" and "port" in value and "URI" not in value:
        port = value["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise SubscriptionError("destination.port must be a port number")
        return "TCP", port, ""
    uri = value.get("URI")
    if not isinstance(uri, str) or not uri:
        raise SubscriptionError("destination.URI is required")
    parts = urlsplit(uri)
    scheme = "http" if protocol == "HTTP" else "tcp"
    try:
        port = parts.port
    except ValueError:
        port = None
    if (
        parts.scheme != scheme
        or parts.hostname not in SANDBOX_HOSTS
        or port is None
        or not 1 <= port <= 65535
    ):
        form = f"{scheme}://sandbox.localdomain:<port>" + ("/<path>" if scheme == "http" else "")
        raise SubscriptionError(
            f"destination.URI must be {form} (the extension's listener inside its sandbox), not {uri!r}"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return protocol, port, path


# events


def timestamp(epoch: float) -> str:
    """ISO 8601 with milliseconds, in UTC, as Lambda writes an event's ``time``."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def category(event_type: str) -> str:
    """``platform``, ``function`` or ``extension``: what a subscriber's ``types`` pick."""
    return "platform" if event_type.startswith("platform.") else event_type


@dataclass(frozen=True)
class Event:
    """One thing that happened, as the Telemetry API (schema 2022-12-13) describes it."""

    type: str
    record: Any
    time: float


def encode(event: Event, api: Api) -> bytes | None:
    """The event as ``api`` delivers it (None: that API has no such event)."""
    record = event.record
    if api == "telemetry" and event.type in _LOGS_ONLY:
        return None
    if api == "logs":
        record = _logs_record(event.type, record)
        if record is _ABSENT:
            return None
    body = {"time": timestamp(event.time), "type": event.type, "record": record}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


_ABSENT: Any = object()
_LOGS_ONLY = frozenset({"platform.end", "platform.logsSubscription"})
_LOGS_TYPES = frozenset(
    {
        "platform.start",
        "platform.end",
        "platform.report",
        "platform.runtimeDone",
        "platform.extension",
        "platform.logsSubscription",
        "platform.logsDropped",
        "platform.fault",
        "function",
        "extension",
    }
)


def _logs_record(event_type: str, record: Any) -> Any:
    """The Logs API's schema (2021-03-18): fewer events, records without spans or tracing."""
    if event_type not in _LOGS_TYPES:
        return _ABSENT
    if not isinstance(record, Mapping):
        return record
    if event_type == "platform.start":
        return {"requestId": record["requestId"], "version": record.get("version", "$LATEST")}
    if event_type == "platform.runtimeDone":
        return {"requestId": record["requestId"], "status": record["status"]}
    if event_type == "platform.report":
        return {"requestId": record["requestId"], "metrics": record["metrics"]}
    return dict(record)


def init_start(function_name: str, version: str, runtime_version: str) -> dict[str, Any]:
    return {
        "initializationType": "on-demand",
        "phase": "init",
        "runtimeVersion": runtime_version,
        "runtimeVersionArn": "",
        "functionName": function_name,
        "functionVersion": version,
    }


def init_runtime_done(status: str) -> dict[str, Any]:
    return {"initializationType": "on-demand", "phase": "init", "status": status}


def init_report(status: str, duration_ms: float) -> dict[str, Any]:
    return {
        "initializationType": "on-demand",
        "phase": "init",
        "status": status,
        "metrics": {"durationMs": round(duration_ms, 3)},
    }


def tracing(trace_id: str) -> dict[str, str]:
    return {"type": "X-Amzn-Trace-Id", "value": trace_id}


def start(request_id: str, version: str, trace_id: str) -> dict[str, Any]:
    return {"requestId": request_id, "version": version, "tracing": tracing(trace_id)}


def runtime_done(
    request_id: str, status: str, duration_ms: float, produced_bytes: int, trace_id: str
) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "status": status,
        "tracing": tracing(trace_id),
        "metrics": {"durationMs": round(duration_ms, 3), "producedBytes": produced_bytes},
    }


def report(
    request_id: str,
    status: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_used_mb: int,
    trace_id: str,
    init_duration_ms: float | None = None,
) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "durationMs": round(duration_ms, 3),
        "billedDurationMs": max(1, math.ceil(duration_ms)),
        "memorySizeMB": memory_mb,
        "maxMemoryUsedMB": max_memory_used_mb,
    }
    if init_duration_ms is not None:
        metrics["initDurationMs"] = round(init_duration_ms, 3)
    return {"requestId": request_id, "status": status, "tracing": tracing(trace_id), "metrics": metrics}


def subscribed(api: Api, name: str, types: frozenset[str]) -> tuple[str, dict[str, Any]]:
    """The event (type, record) every subscriber of ``platform`` gets when an extension subscribes."""
    kind = "platform.telemetrySubscription" if api == "telemetry" else "platform.logsSubscription"
    return kind, {"name": name, "state": "Subscribed", "types": sorted(types)}


@dataclass
class Buffer:
    """One subscriber's events waiting to be sent: full at ``maxItems`` events or
    ``maxBytes`` bytes; otherwise sent ``timeoutMs`` after the first event came."""

    buffering: Buffering
    events: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, encoded: bytes) -> bool:
        """Keep one event; True when the buffer is full (send it now)."""
        self.events.append(encoded)
        self.size += len(encoded)
        return len(self.events) >= self.buffering.max_items or self.size >= self.buffering.max_bytes

    def take(self) -> list[bytes]:
        events, self.events, self.size = self.events, [], 0
        return events


def http_body(events: list[bytes]) -> bytes:
    """A batch as the HTTP destination receives it: one JSON array."""
    return b"[" + b",".join(events) + b"]"


def tcp_body(events: list[bytes]) -> bytes:
    """A batch as the TCP destination receives it: one JSON object per line."""
    return b"".join(e + b"\n" for e in events)

"""What a running ``up`` has seen lately, for the dashboard: requests, log lines, changes.

    activity = Activity()
    gateway.on_request = activity.request        # every finished exchange
    console.listeners.append(activity.log)       # every line anyone said (any thread)
    queue = activity.subscribe()                 # events for one browser (SSE)

Bounded: the last ``keep`` requests and ``lines`` log lines per source.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from gateway.http.exchange import Exchange

EVENT_SHOWN = 16_384
"""Characters of a Lambda event kept for the dashboard."""
BODY_KEPT = 65_536
"""A request body up to this size is kept, so that the request can be replayed."""


@dataclass
class RequestRecord:
    id: int
    time: float
    method: str
    target: str
    status: int
    container: str
    compute: str
    duration_ms: float
    cold: bool
    request_id: str
    note: str
    viewer_headers: list[tuple[str, str]] = field(default_factory=list)
    origin_headers: list[tuple[str, str]] | None = None
    event: str | None = None
    result: str | None = None
    body_b64: str | None = None
    """The request body (base64) when kept; None when there was one and it was not kept."""

    def summary(self) -> dict[str, Any]:
        keys = ("id", "time", "method", "target", "status", "container", "compute", "duration_ms", "cold")
        return {k: getattr(self, k) for k in (*keys, "request_id")}

    def detail(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, number: int, exchange: Exchange) -> RequestRecord:
        head, access = exchange.head, exchange.access
        body = access.request_body
        has_body = head.chunked or bool(head.content_length)
        if body is not None and len(body) <= BODY_KEPT:
            body_b64: str | None = base64.b64encode(body).decode()
        else:
            body_b64 = None if has_body else ""
        event = None
        if access.event is not None:  # its body cut first: a 6 MB body is not dumped to be cut
            event = json.dumps(_shown(access.event), indent=2, ensure_ascii=False)[:EVENT_SHOWN]
        return cls(
            id=number,
            time=time.time() - (time.monotonic() - exchange.started),  # when it began
            method=head.method,
            target=head.target[:2000],
            status=exchange.status,
            container=access.container,
            compute=access.compute,
            duration_ms=round(exchange.duration_ms, 2),
            cold=access.cold,
            request_id=access.request_id,
            note=exchange.notes,
            viewer_headers=list(head.headers),
            origin_headers=access.shown_origin_headers(),
            event=event,
            result=_text(access.result) if access.compute == "awsLambda" else None,
            body_b64=body_b64,
        )


def _shown(event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body")
    if isinstance(body, str) and len(body) > EVENT_SHOWN:
        return {**event, "body": body[:EVENT_SHOWN] + f"... ({len(body) - EVENT_SHOWN} more characters)"}
    return event


def _text(result: bytes) -> str:
    if len(result) <= EVENT_SHOWN:
        return result.decode("utf-8", "replace")
    return result[:EVENT_SHOWN].decode("utf-8", "replace") + f"... ({len(result) - EVENT_SHOWN} more bytes)"


class Activity:
    def __init__(self, keep: int = 200, lines: int = 500) -> None:
        self._requests: deque[tuple[int, RequestRecord | Exchange]] = deque(maxlen=keep)
        """Each request's record, or its exchange while nobody asked (made on first look)."""
        self.logs: dict[str, deque[tuple[float, str]]] = {}
        self._lines = lines
        self._numbers = itertools.count(1)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    # what happened

    def request(self, exchange: Exchange) -> None:
        """A finished exchange. Its record is made when a browser is watching, or when one
        asks (a gateway with no dashboard open pays one append per request); a Lambda
        exchange's now, since it holds the event and the body, which are cut to be kept."""
        if exchange.head.method == "-":
            return  # a head that never parsed: nothing to show or replay
        number = next(self._numbers)
        access = exchange.access
        if self._subscribers or access.event is not None or access.request_body is not None:
            record = RequestRecord.of(number, exchange)
            self._requests.append((number, record))
            self.publish({"type": "request", "request": record.summary()})
        else:
            self._requests.append((number, exchange))

    @property
    def requests(self) -> list[RequestRecord]:
        """The last requests, oldest first."""
        out = []
        for index, (number, kept) in enumerate(self._requests):
            if isinstance(kept, Exchange):
                kept = RequestRecord.of(number, kept)
                self._requests[index] = (number, kept)
            out.append(kept)
        return out

    def log(self, name: str, line: str) -> None:
        """Any thread: a line said by ``name``."""
        if name == "gateway":
            return  # the access lines are the request list
        with self._lock:
            self.logs.setdefault(name, deque(maxlen=self._lines)).append((time.time(), line))
        self.publish({"type": "log", "container": name, "line": line, "time": time.time()})

    def find(self, number: int) -> RequestRecord | None:
        return next((r for r in self.requests if r.id == number), None)

    def lines(self, name: str) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.logs.get(name, ()))

    # who listens

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or not self._subscribers:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(event)
        else:
            loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a browser that stopped reading: it reloads the page to catch up
                continue
            queue.put_nowait(event)

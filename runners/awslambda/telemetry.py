"""One execution environment's telemetry: what happens in it, to every extension subscribed.

    telemetry = Telemetry(log)
    telemetry.emit("platform.start", start(...))        # the sandbox, as the invoke goes
    telemetry.line("hello from the handler")            # the container's output
    telemetry.subscribe("otel", subscription, sender)   # the Runtime API, on PUT /telemetry
    await telemetry.drain(2.0)                          # before the environment goes

Events since the environment started are kept (up to ``BACKLOG``) and given to each
new subscriber first, as Lambda gives a subscriber the init phase's events. Each
subscriber has its own buffer (:class:`~gateway.aws.telemetry.Buffer`) and one batch in
flight: a batch full while the previous one is still being sent waits; one more than
that is dropped and said (Lambda's ``platform.logsDropped``), so a listener that does
not answer cannot grow the gateway. The destination (the HTTP layer's) delivers one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Protocol

from gateway.aws.telemetry import (
    Buffer,
    Event,
    Subscription,
    category,
    encode,
    http_body,
    subscribed,
    tcp_body,
)
from gateway.logs import Log

BACKLOG = 1000
"""Events kept for subscribers that come later (an environment's init phase and a little more)."""


class Destination(Protocol):
    """Where one subscriber's batches go (its listener)."""

    async def send(self, body: bytes) -> None: ...

    def close(self) -> None: ...


class Subscriber:
    def __init__(self, name: str, subscription: Subscription, destination: Destination, log: Log) -> None:
        self.name = name
        self.subscription = subscription
        self._destination = destination
        self._log = log
        self._buffer = Buffer(subscription.buffering)
        self._timer: asyncio.TimerHandle | None = None
        self._batches: deque[list[bytes]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._failed = False
        self.delivered = 0
        self.dropped = 0

    def add(self, event: Event) -> None:
        if category(event.type) not in self.subscription.types:
            return
        encoded = encode(event, self.subscription.api)
        if encoded is None:
            return
        if self._buffer.add(encoded):
            self.ship()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self.subscription.buffering.timeout_ms / 1000, self.ship
            )

    def ship(self) -> None:
        """Send what is buffered now (full, its time came, or the environment ends)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._buffer.take()
        if not batch:
            return
        if len(self._batches) >= 1 and self._sender is not None and not self._sender.done():
            self.dropped += len(batch)  # one batch in flight, one waiting: the listener is behind
            self._log(f"telemetry: {self.name} is not keeping up; {len(batch)} events dropped")
            return
        self._batches.append(batch)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(
                self._deliver(), name=f"telemetry {self.name}"
            )

    async def _deliver(self) -> None:
        while self._batches:
            batch = self._batches.popleft()
            tcp = self.subscription.protocol == "TCP"
            try:
                await self._destination.send(tcp_body(batch) if tcp else http_body(batch))
                self.delivered += len(batch)
                self._failed = False
            except Exception as exc:  # the listener is not there (yet), or answered an error
                self.dropped += len(batch)
                if not self._failed:
                    self._failed = True
                    self._log(f"telemetry: cannot deliver to {self.name}: {exc}")

    async def drain(self) -> None:
        self.ship()
        if self._sender is not None:
            with contextlib.suppress(Exception):
                await self._sender

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._sender is not None:
            self._sender.cancel()
        self._destination.close()


class Telemetry:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.subscribers: list[Subscriber] = []
        self._backlog: deque[Event] = deque(maxlen=BACKLOG)

    def emit(self, event_type: str, record: object, now: float | None = None) -> None:
        event = Event(event_type, record, time.time() if now is None else now)
        self._backlog.append(event)
        for subscriber in self.subscribers:
            subscriber.add(event)

    def line(self, text: str, source: str = "function") -> None:
        """One line of the environment's output (``function``; ``extension`` where known)."""
        self.emit(source, text)

    def subscribe(self, name: str, subscription: Subscription, destination: Destination) -> None:
        """``name`` (the extension) receives what it asked for, from the backlog on; one
        subscription per extension and API (a second replaces the first)."""
        for old in [s for s in self.subscribers if s.name == name and s.subscription.api == subscription.api]:
            old.close()
            self.subscribers.remove(old)
        subscriber = Subscriber(name, subscription, destination, self.log)
        for event in self._backlog:
            subscriber.add(event)
        self.subscribers.append(subscriber)
        self.emit(*subscribed(subscription.api, name, subscription.types))

    @property
    def wanted(self) -> bool:
        """Whether anyone listens (the output is kept for late subscribers either way)."""
        return bool(self.subscribers)

    async def drain(self, timeout: float) -> None:
        """Send what is buffered (the environment is shutting down), for at most ``timeout``."""
        if not self.subscribers:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(s.drain() for s in self.subscribers)), timeout)

    def close(self) -> None:
        for subscriber in self.subscribers:
            subscriber.close()
        self.subscribers.clear()

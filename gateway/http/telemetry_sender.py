"""Delivers an extension's telemetry batches to its listener, inside its environment.

    sender = TelemetrySender(connect, subscription)
    await sender.send(body)      # HTTP: one POST, answered 2xx; TCP: the lines written

``connect(port)`` opens a connection to the environment (its address on the engine's
network, or through the Runtime API relay). HTTP keeps its one connection while the
listener keeps it open, and opens a new one for the next batch where it does not; each
response is framed by llhttp (:class:`~gateway.http.h1.response_reader.ResponseReader`),
and one with neither a length nor chunks ends where the listener closes (the standard
library's ``http.server``, which AWS's Python sample extension listens with, answers
HTTP/1.0 that way). A kept connection the listener closed while idle is retried once on a
new one. Anything but a 2xx is a failed delivery. A batch not answered within ``TIMEOUT``
fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from gateway.aws.telemetry import Subscription
from gateway.http.h1.response_reader import BadResponse, ResponseHead, ResponseReader
from gateway.http.h1.writer import InvalidHeader, request_head

Connect = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
TIMEOUT = 10.0


class DeliveryFailed(Exception):
    pass


class _Unanswered(Exception):
    """The connection closed before any answer."""


class _Answer:
    """What the listener answered to one POST."""

    def __init__(self) -> None:
        self.status = 0
        self.ended = False
        self.keep_alive = False
        self.ends_at_close = False

    def response(self, head: ResponseHead) -> None:
        self.status = head.status
        self.ends_at_close = head.ends_at_close(bodiless=head.status in (204, 304))

    def closed(self) -> None:
        """The listener closed the connection: the end of an answer that ends there."""
        if not self.status:
            raise _Unanswered
        if not self.ends_at_close:
            raise BadResponse("the listener closed the connection mid-answer")
        self.end(keep_alive=False)

    def body(self, data: bytes) -> None:
        pass

    def end(self, keep_alive: bool) -> None:
        self.ended, self.keep_alive = True, keep_alive

    def upgrade(self, tail: bytes) -> None:
        raise BadResponse("a telemetry listener switched protocols")


class TelemetrySender:
    def __init__(self, connect: Connect, subscription: Subscription) -> None:
        self._connect = connect
        self.subscription = subscription
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, body: bytes) -> None:
        try:
            await asyncio.wait_for(self._send(body), TIMEOUT)
        except asyncio.TimeoutError:
            self._drop()
            raise DeliveryFailed(f"no answer within {TIMEOUT:.0f} s") from None
        except _Unanswered:
            self._drop()
            raise DeliveryFailed("the listener closed the connection without answering") from None
        except (OSError, BadResponse, InvalidHeader, asyncio.IncompleteReadError) as exc:
            self._drop()
            raise DeliveryFailed(str(exc) or type(exc).__name__) from None

    async def _send(self, body: bytes) -> None:
        reused = self._streams is not None
        try:
            await self._deliver(body)
        except _Unanswered:
            if not reused:
                raise
            self._drop()
            await self._deliver(body)  # a kept connection it had closed while idle: once more, anew

    async def _deliver(self, body: bytes) -> None:
        if self._streams is None:
            self._streams = await self._connect(self.subscription.port)
        reader, writer = self._streams
        if self.subscription.protocol == "TCP":
            writer.write(body)
            await writer.drain()
            return
        headers = [
            ("Host", f"sandbox.localdomain:{self.subscription.port}"),
            ("Content-Type", "application/json"),
        ]
        writer.write(request_head("POST", self.subscription.path, headers, length=len(body)) + body)
        try:
            await writer.drain()
        except ConnectionError:
            raise _Unanswered from None
        answer = _Answer()
        parser = ResponseReader(answer)
        parser.expect(answer)
        while not answer.ended:
            try:
                data = await reader.read(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                answer.closed()
                break
            parser.feed(data)
        if not answer.keep_alive:
            self._drop()
        if not 200 <= answer.status < 300:
            raise DeliveryFailed(f"the listener answered {answer.status}")

    def _drop(self) -> None:
        if self._streams is not None:
            with contextlib.suppress(Exception):
                self._streams[1].close()
            self._streams = None

    def close(self) -> None:
        self._drop()

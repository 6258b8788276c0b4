"""One viewer connection: llhttp frames every byte, exchanges are answered in order.

Bytes go to ``httptools.HttpRequestParser`` (llhttp) and nowhere else. Each
request head is checked (:func:`gateway.http.request.check`) before it is
routed; a rejected head is answered with CloudFront's page, in its turn, and
the connection closes: nothing after a bad head is ever read as a request.
Pipelined requests are queued and answered one after the other; their bodies
wait (bounded: reading pauses) until their turn. After an ``Upgrade``
request the parser stops; the bytes that follow go to the origin only if it
answers ``101``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, cast

from gateway.aws.headers import EDGE_REWRITES
from gateway.aws.limits import MAX_REQUEST_HEAD
from gateway.http.exchange import Dispatcher, Exchange
from gateway.http.flow import FlowControl, Producer
from gateway.http.h1.request_reader import RequestReader
from gateway.http.request import Rejection, RequestHead

if TYPE_CHECKING:
    from gateway.http.tunnel import Tunnel

__all__ = ["Dispatcher", "ViewerConnection"]

MAX_QUEUED = 16
"""Pipelined requests parsed ahead of the one being answered before reading pauses."""
MAX_TRAILERS = 16


class ViewerConnection(asyncio.Protocol):
    """The I/O of one viewer connection: bytes to the reader, its events to exchanges."""

    def __init__(self, dispatcher: Dispatcher, connections: set[ViewerConnection]) -> None:
        self.dispatcher = dispatcher
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.client_ip = "127.0.0.1"
        self.reader = RequestReader(self, EDGE_REWRITES)
        self.flow = FlowControl()
        self.queue: deque[Exchange] = deque()
        self.parsing: Exchange | None = None
        """The request whose body the reader is reading."""
        self.closing = False
        """No further request will be read (a rejected head, an upgrade, a hang-up)."""
        self.upgrade_tail: bytearray | None = None
        """Bytes after an Upgrade request's head, kept for the origin until it answers."""
        self.tunnel: Tunnel | None = None
        self.head_started: float | None = None
        """When the head being read began (its first byte); None between requests."""
        self.idle_since = time.monotonic()
        self._paused: set[str] = set()
        self._corked: list[bytes] | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0])
        self.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.from_viewer(data)
            return
        if self.upgrade_tail is not None:
            self.upgrade_tail += data
            if len(self.upgrade_tail) > MAX_REQUEST_HEAD:
                self.pause("upgrade")
            return
        if self.closing:
            return
        corked = self._corked is None
        if corked:
            self._corked = []
        try:
            self.reader.feed(data)
            if self.reader.in_head and self.head_started is None:
                self.head_started = time.monotonic()
            self._start_next()
        finally:
            if corked:
                self.uncork()

    def eof_received(self) -> bool | None:
        if self.tunnel is not None:
            self.tunnel.viewer_eof()
            return True
        if self.queue:
            self.closing = True  # answer what was asked, then close
            if self.parsing is not None:
                self.parsing.rejection = Rejection(400, "the viewer stopped sending the body")
                self.parsing.body.fail()
            return True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.flow.close()  # writers see the exchange finished
        self.connections.discard(self)
        self.closing = True
        if self.tunnel is not None:
            self.tunnel.viewer_closed()
        waiting, self.queue = list(self.queue), deque()
        for exchange in waiting:
            exchange.abandon()
        self.transport = None

    def pause_writing(self) -> None:
        self.flow.pause()

    def resume_writing(self) -> None:
        self.flow.resume()

    # what the reader finds

    def request(self, head: RequestHead) -> None:
        self.head_started = None
        exchange = Exchange(self, head)
        self.parsing = exchange
        self.queue.append(exchange)
        if len(self.queue) > MAX_QUEUED:
            self.pause("pipelined")

    def body(self, data: bytes) -> None:
        if self.parsing is not None:
            self.parsing.body.feed(data)

    def end(self) -> None:
        if self.parsing is not None:
            self.parsing.body.end()
            self.parsing = None

    def trailer(self, name: str, value: str) -> None:
        parsing = self.parsing
        if parsing is not None and len(parsing.trailers) < MAX_TRAILERS:
            if not isinstance(parsing.trailers, list):
                parsing.trailers = []
            parsing.trailers.append((name, value))

    def refuse(self, rejection: Rejection, in_body: bool) -> None:
        if rejection.status == 500:
            self.dispatcher.log(f"scf-local error reading a request: {rejection.detail}")
        self.reject(rejection)

    def upgrade(self, tail: bytes) -> None:
        self.closing = True
        self.upgrade_tail = bytearray(tail)
        self.pause("upgrade")

    # exchanges

    def reject(self, rejection: Rejection) -> None:
        """Answer a bad request in its turn with the server's error page, then close."""
        self.closing = True
        broken, self.parsing = self.parsing, None
        if broken is not None:  # the bytes were inside a body: that request itself is bad
            broken.close_after = True
            broken.rejection = rejection  # answered in its turn, if its turn has not come
            if broken.begun:
                broken.body.fail()  # in flight: its origin answers with request_failed()
            return
        self.head_started = None
        method, target = self.reader.unfinished()
        head = RequestHead(method, target, "1.1", [], [], {}, keep_alive=False)
        self.queue.append(Exchange(self, head, rejection))

    def request_timeout(self, limit: float) -> None:
        """The head did not arrive whole in time: 408, then close."""
        self.reject(Rejection(408, f"request head not complete after {limit:.0f} s"))
        self._start_next()

    def _start_next(self) -> None:
        while self.queue and not self.queue[0].begun:
            exchange = self.queue[0]
            exchange.begun = True
            if exchange.rejection is not None:
                exchange.log(exchange.rejection.detail)
                exchange.send_page(self.dispatcher.error_page(exchange.rejection.status, exchange.cf_id))
            else:
                self.dispatcher.dispatch(exchange)

    def exchange_done(self, exchange: Exchange) -> None:
        if not self.queue or self.queue[0] is not exchange:
            return
        self.queue.popleft()
        if self.tunnel is not None:
            return  # the connection is a byte tunnel now
        if exchange.close_after or (self.closing and not self.queue) or self.transport is None:
            self.close()
            return
        self.idle_since = exchange.ended_at
        if self._paused and len(self.queue) <= MAX_QUEUED:
            self.resume("pipelined")
        if self.queue:
            self._start_next()

    # transport

    def write(self, data: bytes) -> None:
        if self._corked is not None:
            self._corked.append(data)
        elif self.transport is not None:
            self.transport.write(data)

    async def drained(self) -> None:
        """Once the viewer has taken what was written (at once while it keeps up)."""
        await self.flow.drain()

    def attach_producer(self, producer: Producer | None) -> None:
        self.flow.attach(producer)

    def cork(self) -> bool:
        """Gather writes until :meth:`uncork` sends them in one system call (a response head and
        its body usually arrive together). False if already corked: the caller must not uncork."""
        if self._corked is not None:
            return False
        self._corked = []
        return True

    def uncork(self) -> None:
        corked, self._corked = self._corked, None
        if corked and self.transport is not None:
            self.transport.write(corked[0] if len(corked) == 1 else b"".join(corked))

    def pause(self, reason: str) -> None:
        if not self._paused and self.transport is not None:
            self.transport.pause_reading()
        self._paused.add(reason)

    def resume(self, reason: str) -> None:
        if reason not in self._paused:
            return
        self._paused.discard(reason)
        if not self._paused and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def close(self) -> None:
        self.uncork()
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self._corked = None
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

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
from typing import TYPE_CHECKING, Protocol, cast

import httptools

from gateway.aws.error_pages import Page
from gateway.aws.limits import MAX_REQUEST_HEAD, MAX_URL
from gateway.http.exchange import Exchange
from gateway.http.request import Rejection, RequestHead, check, head_size

if TYPE_CHECKING:
    from gateway.http.relay import Tunnel


class Dispatcher(Protocol):
    """What serves the requests of a connection: the gateway, or a Runtime API endpoint."""

    connections: set[ViewerConnection]

    def log(self, line: str) -> None: ...

    def dispatch(self, exchange: Exchange) -> None: ...

    def finished(self, exchange: Exchange) -> None:
        """An exchange ended (its access line, the dashboard's request list)."""
        ...

    def error_page(self, status: int, cf_id: str, detail: str | None = None) -> Page:
        """How this server answers a request it refuses (CloudFront's page; the Runtime API's
        JSON error)."""
        ...


MAX_QUEUED = 16
"""Pipelined requests parsed ahead of the one being answered before reading pauses."""
HEAD_GUARD = MAX_REQUEST_HEAD + 256 * 1024
"""Bytes of an unfinished head kept before answering 413 (the exact quota is checked
once the head is whole)."""


class Rejected(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.detail)
        self.rejection = rejection


class ViewerConnection(asyncio.Protocol):
    def __init__(self, gateway: Dispatcher) -> None:
        self.gateway = gateway
        self.transport: asyncio.Transport | None = None
        self.client_ip = "127.0.0.1"
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Exchange] = deque()
        self.parsing: Exchange | None = None
        """The request whose body the parser is reading."""
        self.closing = False
        """No further request will be read (a rejected head, an upgrade, a hang-up)."""
        self.upgrade_tail: bytearray | None = None
        """Bytes after an Upgrade request's head, kept for the origin until it answers."""
        self.tunnel: Tunnel | None = None
        self.head_started: float | None = None
        """When the head being read began (its first byte); None between requests."""
        self.idle_since = time.monotonic()
        self._in_head = False
        self._raw_head = 0
        self._url: list[bytes] = []
        self._url_size = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._paused: set[str] = set()
        self._corked: list[bytes] | None = None
        self._full: asyncio.Future[None] | None = None
        """Pending while the transport's write buffer is over its high-water mark: a writer that
        produces on its own (a Lambda stream) awaits :meth:`drained` after each write."""

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0])
        self.gateway.connections.add(self)

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
        corked = self.cork()
        try:
            self._feed(data)
        finally:
            if corked:
                self.uncork()

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.closing = True
            self.upgrade_tail = bytearray(data[int(exc.args[0]) :])
            self.pause("upgrade")
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Rejected):
                self.reject(cause.rejection)
            else:  # our bug, not the viewer's: say so, answer, and never leave a traceback
                self.gateway.log(f"scf-local error reading a request: {cause!r}")
                self.reject(Rejection(500, f"scf-local error: {cause!r}"))
        except httptools.HttpParserError as exc:
            self.reject(Rejection(400, f"malformed request: {exc}"))
        else:
            if self._in_head:
                self._raw_head += len(data)
                if self._raw_head > HEAD_GUARD:
                    self.reject(Rejection(413, f"request head over {HEAD_GUARD} bytes and not finished"))
        self._start_next()

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
        self._release_writers()  # they see the exchange finished
        self.gateway.connections.discard(self)
        self.closing = True
        if self.tunnel is not None:
            self.tunnel.viewer_closed()
        waiting, self.queue = list(self.queue), deque()
        for exchange in waiting:
            exchange.abandon()
        self.transport = None

    def pause_writing(self) -> None:
        if self._full is None:
            self._full = asyncio.get_running_loop().create_future()
        if self.tunnel is not None:
            self.tunnel.pause_origin()
        elif self.queue and self.queue[0].flow is not None:
            self.queue[0].flow.pause_reading()

    def resume_writing(self) -> None:
        self._release_writers()
        if self.tunnel is not None:
            self.tunnel.resume_origin()
        elif self.queue and self.queue[0].flow is not None:
            self.queue[0].flow.resume_reading()

    # llhttp callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = []
        self._url_size = 0
        self._headers = []
        self._head_size = 0
        self.head_started = time.monotonic()

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._url_size += len(url)
        if self._url_size > MAX_URL:
            raise Rejected(Rejection(413, f"URL over {MAX_URL} bytes"))

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:  # a trailer after a chunked body: kept, never forwarded to an origin
            if self.parsing is not None and len(self.parsing.trailers) < 16:
                self.parsing.trailers.append((name.decode("latin-1"), value.decode("latin-1").strip(" \t")))
            return
        self._headers.append((name, value))
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_REQUEST_HEAD:
            raise Rejected(Rejection(413, f"request head over {MAX_REQUEST_HEAD} bytes"))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._raw_head = 0
        self.head_started = None
        parser = self.parser
        method = parser.get_method().decode("ascii", "replace")
        target = b"".join(self._url).decode("latin-1")
        headers = [(n.decode("latin-1"), v.decode("latin-1").strip(" \t")) for n, v in self._headers]
        chunked = False
        length: int | None = None
        for name, value in headers:
            lower = name.lower()
            if lower == "transfer-encoding":
                chunked = True  # llhttp accepts only a final "chunked" in a request
            elif lower == "content-length":
                length = int(value)  # llhttp accepted exactly one, of ASCII digits
        head = RequestHead(
            method=method,
            target=target,
            version=parser.get_http_version(),
            headers=headers,
            keep_alive=parser.should_keep_alive(),
            chunked=chunked,
            content_length=None if chunked else length,
            upgrade=parser.should_upgrade(),
            size=head_size(method, target, self._head_size),  # counted as the lines arrived
        )
        rejection = check(head)
        if rejection is not None:
            raise Rejected(rejection)
        exchange = Exchange(self, head)
        self.parsing = exchange
        self.queue.append(exchange)
        if len(self.queue) > MAX_QUEUED:
            self.pause("pipelined")

    def on_body(self, data: bytes) -> None:
        if self.parsing is not None:
            self.parsing.body.feed(data)

    def on_message_complete(self) -> None:
        if self.parsing is not None:
            self.parsing.body.end()
            self.parsing = None

    # exchanges

    def reject(self, rejection: Rejection) -> None:
        """Answer a bad request in its turn with the server's error page, then close."""
        self.closing = True
        broken, self.parsing = self.parsing, None
        if broken is not None:  # the bytes were inside a body: that request itself is bad
            broken.close_after = True
            broken.rejection = rejection  # answered in its turn, if its turn has not come
            if broken.started_at:
                broken.body.fail()  # in flight: its origin answers with request_failed()
            return
        method = self.parser.get_method().decode("ascii", "replace") if self._in_head else "-"
        target = b"".join(self._url).decode("latin-1")[:200] or "-"
        head = RequestHead(method, target, "1.1", [], keep_alive=False, chunked=False, content_length=None)
        exchange = Exchange(self, head, rejection)
        exchange.body.complete = True
        self.queue.append(exchange)

    def request_timeout(self, limit: float) -> None:
        """The head did not arrive whole in time: 408, then close."""
        self.reject(Rejection(408, f"request head not complete after {limit:.0f} s"))
        self._start_next()

    def _start_next(self) -> None:
        while self.queue and not self.queue[0].started_at:
            exchange = self.queue[0]
            exchange.started_at = time.monotonic()
            if exchange.rejection is not None:
                exchange.log(exchange.rejection.detail)
                exchange.send_page(self.gateway.error_page(exchange.rejection.status, exchange.cf_id))
            else:
                self.gateway.dispatch(exchange)

    def exchange_done(self, exchange: Exchange) -> None:
        if not self.queue or self.queue[0] is not exchange:
            return
        self.queue.popleft()
        if self.tunnel is not None:
            return  # the connection is a byte tunnel now
        if exchange.close_after or (self.closing and not self.queue) or self.transport is None:
            self.close()
            return
        self.idle_since = time.monotonic()
        if len(self.queue) <= MAX_QUEUED:
            self.resume("pipelined")
        self._start_next()

    # transport

    def write(self, data: bytes) -> None:
        if self._corked is not None:
            self._corked.append(data)
        elif self.transport is not None:
            self.transport.write(data)

    async def drained(self) -> None:
        """Once the viewer has taken what was written (at once while it keeps up)."""
        full = self._full
        if full is not None:
            await full

    def _release_writers(self) -> None:
        full, self._full = self._full, None
        if full is not None and not full.done():
            full.set_result(None)

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

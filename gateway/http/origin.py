"""Fargate tasks as origins: idle keep-alive connections reused, each response framed by llhttp.

    forward = TaskForward(exchange, service, address, head_bytes, links, offers)
    forward.start()          # request out (body streamed), response back (streamed), as the ALB would

The request sent to the task is the head the engine serialised plus exactly
the body llhttp framed (re-chunked when it arrived chunked). The response is
read by ``httptools.HttpResponseParser``; its head is rewritten once and its
body streamed to the viewer as it arrives, with back-pressure both ways. A
connection goes back to the idle ones only when its response was read whole, the
request was sent whole, and the task keeps it alive; anything else closes it.
A request is sent again on a fresh connection only when it is idempotent,
has no body, and the idle connection closed before any byte came back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from gateway.aws.error_pages import Page, alb_error
from gateway.aws.headers import (
    EDGE_RESPONSE_TAIL,
    USUAL_CONNECTION,
    edge_response_head,
    edge_response_headers,
)
from gateway.http.body import EMPTY
from gateway.http.exchange import Exchange
from gateway.http.h1 import writer
from gateway.http.h1.response_reader import BadResponse, ResponseHead
from gateway.http.origin_connection import IdleConnections, OriginConnection
from gateway.http.routes import Timeouts
from gateway.http.tunnel import Tunnel
from gateway.tasks import create_task

RETRYABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Idempotent methods (RFC 9110 §9.2.2): the only ones sent twice, and only without a body."""


class Upstream(Protocol):
    """What a forward's requests go to: a Fargate service's tasks, or a dev server's socket."""

    inflight: int

    def ready_target(self) -> tuple[str, int] | None: ...


class DevSocketTarget(Upstream, Protocol):
    """An execution environment's dev server, offered a live-reload socket it may refuse."""

    address: tuple[str, int]

    def accepted(self) -> None: ...


class ForwardLinks:
    """What forwards share: the idle connections, the forwards in flight (for the timeouts), the
    timeouts."""

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self.idle = IdleConnections(timeouts.origin_keepalive)
        self.forwards: set[TaskForward] = set()


class TaskForward:
    """One viewer request to a task and its response back."""

    conn: OriginConnection | None = None
    last: float
    """The last byte either way: the ALB's idle timeout counts both (ALB-IDLE)."""
    heard: float
    """The last byte from the task, or when the request was sent whole: CloudFront's origin
    read timeout runs from there (CF-DIST)."""
    reused = False
    request_sent = False
    response_done = False
    done = False
    eof_delimited = False
    reusable = False
    offers: Sequence[DevSocketTarget] = ()

    def __init__(
        self,
        exchange: Exchange,
        service: Upstream,
        address: tuple[str, int],
        head_bytes: bytes,
        links: ForwardLinks,
        offers: Sequence[DevSocketTarget] = (),
    ) -> None:
        """``offers``: for a dev tool's socket, the dev servers that may take it, ``service``
        first; each refusal (an answer other than 101) offers it to the next."""
        self.exchange = exchange
        self.service = service
        self.address = address
        self.head_bytes = head_bytes
        self.links = links
        self.last = self.heard = time.monotonic()
        if offers:
            self.offers = offers

    def start(self) -> None:
        self.service.inflight += 1
        self.links.forwards.add(self)
        self.exchange.on_abandon = self._abandoned
        # an Upgrade becomes a tunnel: it gets a connection of its own, never an idle one
        conn = None if self.exchange.head.upgrade else self.links.idle.take(self.address)
        if conn is not None:
            self.reused = True
            self._attach(conn)
        else:
            create_task(self._connect(), name=f"connect {self.address[0]}:{self.address[1]}")

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: OriginConnection(self.address), *self.address),
                self.links.timeouts.origin_connect,
            )
        except asyncio.TimeoutError:
            if not self._offer_next():
                self.fail(504, "connecting to the task timed out")
            return
        except OSError as exc:
            if not self._offer_next():
                self.fail(502, f"cannot connect to the task ({exc.strerror or exc})")
            return
        if self.done:
            conn.close()
            return
        if conn.closed:  # accepted, then closed at once (an engine's port forwarder, nothing behind it)
            self.fail(502, "the task closed the connection as it was opened")
            return
        self._attach(conn)

    def _attach(self, conn: OriginConnection) -> None:
        self.conn = conn
        conn.forward = self
        conn.got_bytes = False
        transport = conn.transport
        assert transport is not None
        exchange = self.exchange
        flow = exchange.conn.flow  # exchange.attach_producer, without a call while not paused
        if flow.paused:
            flow.attach(transport)
        else:
            flow.producer = transport
        conn.reader.expect(self)  # the task's answer comes straight here
        transport.write(self.head_bytes)
        if exchange.body is EMPTY:
            self.request_sent = True  # whole: CloudFront's origin read timeout runs from now
            self.heard = self.last
        else:
            exchange.want_body()
            exchange.body.attach(self._send_body, self._body_sent, self.request_failed)

    def _sent_whole(self) -> None:
        self.request_sent = True
        self.heard = time.monotonic()

    def _send_body(self, data: bytes) -> None:
        conn = self.conn
        if conn is None or conn.transport is None:
            return
        self.last = time.monotonic()
        if self.exchange.head.chunked:
            conn.transport.write(writer.chunk(data))
        else:
            conn.transport.write(data)

    def _body_sent(self) -> None:
        conn = self.conn
        if self.exchange.head.chunked and conn is not None and conn.transport is not None:
            conn.transport.write(writer.LAST_CHUNK)
        self._sent_whole()

    # the response (the events of the connection's ResponseReader)

    def response(self, response: ResponseHead) -> None:
        exchange = self.exchange
        status = response.status
        special = response.special
        if not self.offers:
            # The usual answer, decided once: a final status with a body and a length, to a
            # GET/POST... of a kept-alive HTTP/1.1 viewer whose body was read whole, a Connection
            # header naming nothing else. Its head is one block: the task's lines CloudFront passes
            # on, CloudFront's, the length; exactly what edge_response_head and _frame make of it.
            sized = special.get(b"content-length")
            connection = special.get(b"connection")
            head = exchange.head
            if (
                sized is not None
                and status >= 200
                and status != 204
                and status != 304
                and (connection is None or connection == USUAL_CONNECTION)
                and b"transfer-encoding" not in special
                and head.method != "HEAD"
                and head.version == "1.1"
                and not exchange.close_after
                and exchange.body.complete
                and not exchange.conn.closing
            ):
                size = int(sized[0])  # llhttp accepted it
                self.reusable = response.keep_alive
                exchange.status = status
                exchange.head_sent = True
                exchange.framing = "length"
                exchange.conn.write(
                    b"".join(
                        [
                            b"HTTP/1.1 %d %s\r\n" % (status, response.reason),
                            *response.lines,
                            EDGE_RESPONSE_TAIL,
                            b"x-amz-cf-id: ",
                            exchange.cf_id.encode(),
                            b"\r\ncontent-length: %d\r\n\r\n" % size,
                        ]
                    )
                )
                return
        elif len(self.offers) > 1 and status != 101 and self._offer_next():
            return
        if status == 101 and not exchange.head.upgrade:
            raise BadResponse("101 to a request that did not ask to upgrade")
        length = None
        sized = special.get(b"content-length")
        chunked = b"transfer-encoding" in special
        if sized is not None and not chunked:
            length = int(sized[0])  # llhttp accepted it
        bodiless = exchange.head.method == "HEAD" or status in (204, 304) or status == 101
        # response.ends_at_close(bodiless), without the call in the usual case (a length)
        self.eof_delimited = False if length is not None else response.ends_at_close(bodiless)
        self.reusable = response.keep_alive and not self.eof_delimited
        block = (
            None
            if status == 101
            else edge_response_head(status, response.reason, response.lines, special, cf_id=exchange.cf_id)
        )
        try:
            if block is not None:
                exchange.send_head_bytes(status, block, length)
            else:  # a 101, or a Connection header naming others: the text path
                headers = response.text_headers()
                reason = response.reason.decode("latin-1")
                out = edge_response_headers(headers, cf_id=exchange.cf_id)
                if status == 101:
                    kept = [(n, v) for n, v in headers if n.lower() in ("connection", "upgrade")]
                    exchange.send_switching(reason, [*kept, *out])
                    return
                exchange.send_head(status, reason, out, length)
        except writer.InvalidHeader as exc:
            raise BadResponse(str(exc)) from None
        if exchange.head.method == "HEAD":
            self.reusable = False  # llhttp cannot be told that no body follows: never reuse
            self.end(False)

    def body(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange.framing == "length":
            exchange.conn.write(data)  # exchange.write's usual case (llhttp gives no empty piece)
        else:
            exchange.write(data)

    def end(self, keep_alive: bool) -> None:
        if self.response_done:
            return
        self.response_done = True
        exchange = self.exchange
        conn = self.conn
        if (
            conn is not None
            and not self.done
            and exchange.framing == "length"
            and exchange.body is EMPTY
            and self.reusable
            and keep_alive
            and self.request_sent
        ):
            # The usual end: _finish(True) then exchange.finish(), with one clock reading for both
            # and without the calls between them.
            self.done = True
            self.service.inflight -= 1
            self.links.forwards.discard(self)
            viewer = exchange.conn
            flow = viewer.flow
            if flow.paused:
                flow.attach(None)
            else:
                flow.producer = None
            self.conn = None
            reader = conn.reader
            reader.events = reader.idle  # reader.release()
            now = time.monotonic()
            self.links.idle.give(conn, now)
            if not exchange.finished:
                exchange.finished = True
                exchange.on_abandon = None
                exchange.ended_at = now
                viewer.dispatcher.finished(exchange)
                viewer.exchange_done(exchange)
            return
        self._finish(self.reusable and keep_alive and self.request_sent)
        if exchange.framing == "chunked":
            exchange.end()  # its last chunk
        else:
            exchange.finish()  # what end() does of any other framing

    def upgrade(self, tail: bytes) -> None:
        """The task answered 101: from now on the two connections are a byte tunnel."""
        conn, self.conn = self.conn, None
        self.response_done = True
        self._finish(False)
        assert conn is not None
        if conn.closed:
            self.exchange.cut()
            return
        conn.forward = None
        conn.reader.release()
        if self.offers:
            self.offers[0].accepted()
        Tunnel(self.exchange.conn, conn, tail)
        self.exchange.log("upgraded")
        self.exchange.finish()

    def _offer_next(self) -> bool:
        """A dev server refused a live-reload socket (or could not be reached): offer it to the
        next one. False when there is none left (the refusal goes to the viewer)."""
        if len(self.offers) < 2 or self.done or self.exchange.head_sent:
            return False
        refused, self.offers = self.offers[0], self.offers[1:]
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.forward = None
            conn.reader.release()
            conn.close()
        refused.inflight -= 1
        self.service = nxt = self.offers[0]
        self.address = nxt.address
        nxt.inflight += 1
        self.exchange.access.upstream = nxt.address
        create_task(self._connect(), name=f"connect {nxt.address[0]}:{nxt.address[1]}")
        return True

    def bad_response(self, detail: str) -> None:
        self.fail(502, f"invalid response from the task: {detail}")

    def origin_lost(self, conn: OriginConnection) -> None:
        if self.done or conn is not self.conn:
            return
        if not conn.got_bytes and self._offer_next():
            return
        self.conn = None
        if self.exchange.head_sent and self.eof_delimited:
            self.response_done = True
            self._finish(False)
            self.exchange.end()
            return
        head = self.exchange.head
        if self.reused and not conn.got_bytes and head.method in RETRYABLE and not head.has_body:
            self.reused = False  # an idle connection the task had just closed: once more, on a new one
            self.address = self.service.ready_target() or self.address  # that task may be gone
            create_task(self._connect(), name=f"reconnect {self.address[0]}:{self.address[1]}")
            return
        self.fail(
            502, "the task closed the connection" + (" mid-response" if self.exchange.head_sent else "")
        )

    def fail(self, status: int, detail: str, page: Page | None = None) -> None:
        """The task failed: the ALB's page (or ``page``), or a cut if the response had begun."""
        if self.done:
            return
        self._finish(False)
        # the connection stays open for the next request unless the body was not read whole
        self.exchange.fail(page or alb_error(status, self.exchange.cf_id), detail, close=False)

    def request_failed(self) -> None:
        if self.done:
            return
        self._finish(False)
        self.exchange.request_failed()

    def _finish(self, reuse: bool) -> None:
        if self.done:
            return
        self.done = True
        self.service.inflight -= 1
        self.links.forwards.discard(self)
        exchange = self.exchange
        flow = exchange.conn.flow  # flow.attach(None), without a call while not paused
        if flow.paused:
            flow.attach(None)
        else:
            flow.producer = None
        exchange.on_abandon = None
        if exchange.body is not EMPTY:
            exchange.body.detach()
        conn, self.conn = self.conn, None
        if conn is None:
            return
        conn.reader.release()
        if reuse and exchange.body.complete:
            self.links.idle.give(conn)
        else:
            conn.forward = None
            conn.close()

    def _abandoned(self) -> None:
        """The viewer went away."""
        self._finish(False)

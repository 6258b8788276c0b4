"""One request and its response on a viewer connection: framing out, timing, the access log.

An origin answers through four calls, whatever kind it is:

    exchange.send_head(200, "OK", headers, length=None)   # None: length unknown (chunked)
    exchange.write(b"...")                                 # as often as needed, streamed
    exchange.end()                                         # or exchange.cut() mid-stream
    exchange.send(404, "Not Found", headers, body)         # all of the above in one write

The response is framed here, once, its bytes written by :mod:`gateway.http.h1.writer`:
``Content-Length`` when the length is known, chunked for an HTTP/1.1 viewer
otherwise, close-delimited for HTTP/1.0; no body after HEAD, 1xx, 204 and 304.
Whatever framing headers the origin sent are replaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, overload

from gateway.aws.error_pages import Page
from gateway.aws.headers import Headers, new_cf_id
from gateway.http.access import AccessRecord
from gateway.http.body import EMPTY, EmptyBody, RequestBody
from gateway.http.flow import FlowControl, Producer
from gateway.http.h1 import writer
from gateway.http.request import Rejection, RequestHead

_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

T = TypeVar("T")


class _MadeOnce(Generic[T]):
    """An attribute made on its first read, then a plain attribute of the instance (what
    ``functools.cached_property`` does, without the lock it takes on every first read
    before Python 3.12)."""

    def __init__(self, make: Callable[[Any], T]) -> None:
        self.make = make
        self.__doc__ = make.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _MadeOnce[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object, owner: type) -> T | _MadeOnce[T]:
        if instance is None:
            return self
        value = self.make(instance)
        setattr(instance, self.name, value)  # not through __dict__, which would make it a real dict
        return value


class Dispatcher(Protocol):
    """What serves the requests of a connection: the gateway, or a Runtime API endpoint."""

    def log(self, line: str) -> None: ...

    def dispatch(self, exchange: Exchange) -> None: ...

    def finished(self, exchange: Exchange) -> None:
        """An exchange ended (its access line, the dashboard's request list)."""
        ...

    def error_page(self, status: int, cf_id: str, detail: str | None = None) -> Page:
        """How this server answers a request it refuses (CloudFront's page; the Runtime API's
        JSON error)."""
        ...


class Connection(Protocol):
    """The viewer connection an exchange writes its response to."""

    dispatcher: Dispatcher
    client_ip: str
    closing: bool
    tunnel: Any
    upgrade_tail: bytearray | None

    def write(self, data: bytes) -> None: ...

    def cork(self) -> bool: ...

    def uncork(self) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def attach_producer(self, producer: Producer | None) -> None: ...

    @property
    def flow(self) -> FlowControl: ...

    async def drained(self) -> None: ...

    def exchange_done(self, exchange: Exchange) -> None: ...


class Exchange:
    # What most exchanges never change stays on the class: an exchange sets only what it uses.
    status = 0
    note = ""
    head_sent = False
    finished = False
    begun = False
    """Its turn came (False while it waits behind earlier pipelined requests)."""
    ended_at = 0.0
    rejection: Rejection | None = None
    trailers: tuple[tuple[str, str], ...] | list[tuple[str, str]] = ()
    """Trailer fields after a chunked request body (used by the Runtime API only)."""
    on_abandon: Callable[[], None] | None = None
    """Called if the viewer goes away before the exchange finished (an origin lets go)."""
    framing: writer.Framing = "none"
    """How the response body is delimited, once its head went out."""
    _continued = False

    def __init__(self, conn: Connection, head: RequestHead, rejection: Rejection | None = None) -> None:
        self.conn = conn
        self.head = head
        if rejection is not None:
            self.rejection = rejection
        self.body: RequestBody | EmptyBody = (
            RequestBody(conn) if head.chunked or head.content_length else EMPTY
        )
        self.started = time.monotonic()
        self.close_after = not head.keep_alive or head.upgrade

    @_MadeOnce
    def cf_id(self) -> str:
        """Its CloudFront request id, made when first used (a Runtime API call never uses one)."""
        return new_cf_id()

    @_MadeOnce
    def access(self) -> AccessRecord:
        """What the dashboard and the access log show of it, written by its origin (made when
        first used)."""
        return AccessRecord()

    # reading the request

    def want_body(self) -> None:
        """The origin is about to read the body: answer ``Expect: 100-continue`` now."""
        if self.head.expects_continue and not self._continued and not self.body.complete:
            self._continued = True
            self.conn.write(writer.CONTINUE)

    # writing the response

    def send_head(self, status: int, reason: str, headers: Headers, length: int | None) -> None:
        out = [(n, v) for n, v in headers if n.lower() not in _FRAMING]
        self.conn.write(writer.response_block(status, reason, out) + self._frame(status, length))

    def send_head_bytes(self, status: int, block: bytes, length: int | None) -> None:
        """``block``: the status line and header lines (no framing headers, no blank line), made
        of bytes a strict parser already accepted."""
        self.conn.write(block + self._frame(status, length))

    def send_switching(self, reason: str, headers: Headers) -> None:
        """``101 Switching Protocols``, its ``Connection``/``Upgrade`` headers kept: the tunnel follows."""
        self.status = 101
        self.head_sent = True
        self.conn.write(writer.response_head(101, reason, headers))

    def send(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        """A whole response in one write."""
        out = [(n, v) for n, v in headers if n.lower() not in _FRAMING]
        data = writer.response_block(status, reason, out) + self._frame(status, len(body))
        self.conn.write(data + body if self.framing == "length" else data)
        self.end()

    def send_page(self, page: Page) -> None:
        self.send(page.status, page.reason, page.headers, page.body)

    def write(self, data: bytes) -> None:
        if not data or self.framing == "none":
            return
        if self.framing == "chunked":
            self.conn.write(writer.chunk(data))
        else:
            self.conn.write(data)

    def end(self) -> None:
        if self.framing == "chunked":
            self.conn.write(writer.LAST_CHUNK)
        self.finish()

    def cut(self) -> None:
        """The origin failed after the head went out: the viewer sees the connection drop."""
        self.close_after = True
        self.conn.abort()
        self.finish()

    def _frame(self, status: int, length: int | None) -> bytes:
        """The framing lines and the blank line that end a response head."""
        self.status = status
        self.head_sent = True
        head = self.head
        if length is not None and status >= 200 and status != 204 and status != 304 and head.method != "HEAD":
            self.framing, lines = "length", b"content-length: %d\r\n" % length  # the usual answer
        else:
            self.framing, lines = writer.response_framing(head.method, head.version, status, length)
        if self.framing == "close" or not self.body.complete or self.conn.closing:
            # close-delimited; or what is left of the request body would be read as a request
            self.close_after = True
        elif not self.close_after and head.version == "1.1":
            return lines + b"\r\n"  # what end_response_head makes of the usual case
        return writer.end_response_head(lines, close=self.close_after, version=head.version)

    def fail(self, page: Page, detail: str, *, close: bool) -> None:
        """Something failed before the response was complete: ``page`` if nothing was sent yet,
        else the viewer sees the connection drop. ``close``: no further request on it."""
        self.log(detail)
        if close:
            self.close_after = True
        if self.finished:
            return
        if self.head_sent:
            self.cut()
        else:
            self.send_page(page)

    def request_failed(self) -> None:
        """The viewer's body broke off or was malformed: CloudFront's 400 if nothing was sent yet."""
        rejection = self.rejection or Rejection(400, "bad request body")
        page = self.conn.dispatcher.error_page(rejection.status, self.cf_id)
        self.fail(page, rejection.detail, close=True)

    # the end

    def log(self, note: str) -> None:
        self.note = f"{self.note} {note}".strip() if self.note else note

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.on_abandon = None
        self.ended_at = time.monotonic()
        self.conn.dispatcher.finished(self)
        self.conn.exchange_done(self)

    @property
    def duration_ms(self) -> float:
        return ((self.ended_at or time.monotonic()) - self.started) * 1000

    @property
    def notes(self) -> str:
        """What the access line says after the status and timing."""
        return self.access.notes(self.note)

    def access_line(self) -> str:
        access = self.access
        head = self.head
        target = head.target if len(head.target) <= 200 else head.target[:200] + "..."
        compute = f" {access.compute}" if access.compute else ""
        note = access.notes(self.note)
        note = f" {note}" if note else ""
        took = self.duration_ms
        return f"{head.method} {target} -> {access.container} {self.status} {took:.1f} ms{compute}{note}"

    def access_fields(self) -> dict[str, object]:
        """The access line's facts, for machines (``up --json-logs``)."""
        access = self.access
        fields: dict[str, object] = {
            "method": self.head.method,
            "target": self.head.target,
            "container": access.container,
            "status": self.status,
            "durationMs": round(self.duration_ms, 1),
        }
        if access.compute:
            fields["compute"] = access.compute
        if access.request_id:
            fields["requestId"] = access.request_id
            fields["cold"] = access.cold
        note = access.notes(self.note)
        if note:
            fields["note"] = note
        return fields

    def attach_producer(self, producer: Producer | None) -> None:
        """``producer`` feeds the response from now on (None: nothing does): paused at once if the
        viewer is not keeping up, and whenever it stops."""
        self.conn.flow.attach(producer)

    def abandon(self) -> None:
        """The viewer went away: whatever serves it stops, and the access line says so (499, as
        nginx logs a client that closed its request, when no response had begun)."""
        callback, self.on_abandon = self.on_abandon, None
        self.body.fail()
        if callback is not None:
            callback()
        if self.finished:
            return
        self.finished = True
        self.ended_at = time.monotonic()
        if not self.head_sent:
            self.status = 499
        self.log("the viewer went away")
        self.conn.dispatcher.finished(self)

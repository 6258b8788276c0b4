"""One request and its response on a viewer connection: framing out, timing, the access log.

An origin answers through four calls, whatever kind it is:

    exchange.send_head(200, "OK", headers, length=None)   # None: length unknown (chunked)
    exchange.write(b"...")                                 # as often as needed, streamed
    exchange.end()                                         # or exchange.cut() mid-stream
    exchange.send(404, "Not Found", headers, body)         # all of the above in one write

The response is framed here, once: ``Content-Length`` when the length is
known, chunked for an HTTP/1.1 viewer otherwise, close-delimited for HTTP/1.0;
no body after HEAD, 1xx, 204 and 304. Whatever framing headers the origin
sent are replaced.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gateway.aws.error_pages import Page
from gateway.aws.headers import Headers, new_cf_id
from gateway.http.body import RequestBody
from gateway.http.request import BAD_VALUE, TOKEN, TOKEN_CHARS, Rejection, RequestHead

if TYPE_CHECKING:
    from gateway.http.viewer import ViewerConnection

_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_NAMES = re.compile(f"{TOKEN_CHARS}+(?:,{TOKEN_CHARS}+)*")
_CTL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Flow(Protocol):
    """Whatever feeds a response: paused while the viewer cannot take more."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class InvalidHeader(ValueError):
    """An origin asked to send a header that cannot be sent as is."""


def serialize_head(status: int, reason: str, headers: Headers) -> bytes:
    """A response's status line and headers; refuses names and values that would break the framing."""
    return _serialize(f"HTTP/1.1 {status} {reason}\r\n", headers)


def serialize_request(method: str, target: str, headers: Headers) -> bytes:
    """A request line and headers toward an origin (always HTTP/1.1)."""
    return _serialize(f"{method} {target} HTTP/1.1\r\n", headers)


def _serialize(first_line: str, headers: Headers) -> bytes:
    text = first_line + "".join([f"{name}: {value}\r\n" for name, value in headers]) + "\r\n"
    # One check of the whole block instead of one per header: every CR and LF must be
    # a line end we wrote, and no other control character may appear.
    if _CTL.search(text) or text.count("\n") != len(headers) + 2 or text.count("\r") != len(headers) + 2:
        bad = next(((n, v) for n, v in headers if not TOKEN.fullmatch(n) or BAD_VALUE.search(v)), None)
        raise InvalidHeader(f"header {bad[0]!r}: {bad[1][:40]!r}" if bad else "invalid header")
    if headers and not _NAMES.fullmatch(",".join([name for name, _ in headers])):
        bad_name = next(name for name, _ in headers if not TOKEN.fullmatch(name))
        raise InvalidHeader(f"header name {bad_name!r}")
    return text.encode("latin-1", "replace")


class Exchange:
    def __init__(self, conn: ViewerConnection, head: RequestHead, rejection: Rejection | None = None) -> None:
        self.conn = conn
        self.head = head
        self.rejection = rejection
        self.body = RequestBody(lambda: conn.pause("body"), lambda: conn.resume("body"))
        self.cf_id = new_cf_id()
        self.started = time.monotonic()
        self.container = "-"
        self.status = 0
        self.note = ""
        self.head_sent = False
        self.finished = False
        self.close_after = not head.keep_alive or head.upgrade
        self.started_at = 0.0
        """When its turn came (0 while it waits behind earlier pipelined requests)."""
        self.trailers: list[tuple[str, str]] = []
        """Trailer fields after a chunked request body (used by the Runtime API only)."""
        self.flow: Flow | None = None
        """The origin connection to pause while the viewer cannot take more."""
        self.on_abandon: Callable[[], None] | None = None
        """Called if the viewer goes away before the exchange finished (an origin lets go)."""
        # what the dashboard shows of it (set by its origin)
        self.compute = ""
        self.request_id = ""
        self.cold = False
        self.origin_headers: list[tuple[str, str]] | None = None
        """The headers as the origin received them (after the CloudFront and ALB rewriting)."""
        self.event: dict[str, object] | None = None
        """The Lambda event (Lambda routes)."""
        self.result = b""
        """The function's result, or what is known of it (Lambda routes; truncated)."""
        self.request_body: bytes | None = None
        """The body, when the origin read it whole (for a replay)."""
        self.ended_at = 0.0
        self._framing = "none"  # length | chunked | close | none
        self._continued = False

    # reading the request

    def want_body(self) -> None:
        """The origin is about to read the body: answer ``Expect: 100-continue`` now."""
        if self.head.expects_continue and not self._continued and not self.body.complete:
            self._continued = True
            self.conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    # writing the response

    def send_head(self, status: int, reason: str, headers: Headers, length: int | None) -> None:
        out = [(n, v) for n, v in headers if n.lower() not in _FRAMING]
        self._frame(status, out, length)
        self.conn.write(serialize_head(status, reason, out))

    def send_switching(self, reason: str, headers: Headers) -> None:
        """``101 Switching Protocols``, its ``Connection``/``Upgrade`` headers kept: the tunnel follows."""
        self.status = 101
        self.head_sent = True
        self.conn.write(serialize_head(101, reason, headers))

    def send(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        """A whole response in one write."""
        out = [(n, v) for n, v in headers if n.lower() not in _FRAMING]
        self._frame(status, out, len(body))
        data = serialize_head(status, reason, out)
        self.conn.write(data + body if self._framing == "length" else data)
        self.end()

    def send_page(self, page: Page) -> None:
        self.send(page.status, page.reason, page.headers, page.body)

    def write(self, data: bytes) -> None:
        if not data or self._framing == "none":
            return
        if self._framing == "chunked":
            self.conn.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.conn.write(data)

    def end(self) -> None:
        if self._framing == "chunked":
            self.conn.write(b"0\r\n\r\n")
        self.finish()

    def cut(self) -> None:
        """The origin failed after the head went out: the viewer sees the connection drop."""
        self.close_after = True
        self.conn.abort()
        self.finish()

    def _frame(self, status: int, out: Headers, length: int | None) -> None:
        self.status = status
        self.head_sent = True
        head = self.head
        if head.method == "HEAD" or status in (204, 304) or status < 200:
            self._framing = "none"
            if length is not None and head.method == "HEAD" and status not in (204, 304):
                out.append(("content-length", str(length)))
        elif length is not None:
            self._framing = "length"
            out.append(("content-length", str(length)))
        elif head.version == "1.1":
            self._framing = "chunked"
            out.append(("transfer-encoding", "chunked"))
        else:
            self._framing = "close"
            self.close_after = True
        if not self.body.complete or self.conn.closing:
            self.close_after = True  # what is left of the request body would be read as a request
        if self.close_after:
            out.append(("connection", "close"))
        elif head.version == "1.0":
            out.append(("connection", "keep-alive"))

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
        page = self.conn.gateway.error_page(rejection.status, self.cf_id)
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
        self.conn.gateway.finished(self)
        self.conn.exchange_done(self)

    @property
    def duration_ms(self) -> float:
        return ((self.ended_at or time.monotonic()) - self.started) * 1000

    def access_line(self) -> str:
        target = self.head.target if len(self.head.target) <= 200 else self.head.target[:200] + "..."
        line = f"{self.head.method} {target} -> {self.container} {self.status} {self.duration_ms:.1f} ms"
        if self.compute:
            line += f" {self.compute}"
        return f"{line} {self.note}" if self.note else line

    def access_fields(self) -> dict[str, object]:
        """The access line's facts, for machines (``up --json-logs``)."""
        fields: dict[str, object] = {
            "method": self.head.method,
            "target": self.head.target,
            "container": self.container,
            "status": self.status,
            "durationMs": round(self.duration_ms, 1),
        }
        if self.compute:
            fields["compute"] = self.compute
        if self.request_id:
            fields["requestId"] = self.request_id
            fields["cold"] = self.cold
        if self.note:
            fields["note"] = self.note
        return fields

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
        self.conn.gateway.finished(self)

"""A task's bytes in, responses out: llhttp frames them; the head comes out ready for the viewer.

    reader = ResponseReader(events)
    reader.feed(data)     # events.response(...), .body(data), .end(keep_alive), .upgrade(tail);
                          # BadResponse if the bytes are not a response

The head is rewritten as it is read, the way CloudFront passes an origin's
response on: hop-by-hop headers, framing headers and CloudFront's own
(``Via``, ``X-Cache``, ``X-Amz-Cf-Id``) are taken out; every other header line
is kept as the task sent it (llhttp checked it). Interim responses (100, 103)
are read and dropped; a ``101`` stops the reader (the bytes after it are not HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httptools

from gateway.aws.headers import HOP_BY_HOP
from gateway.aws.limits import MAX_REQUEST_HEAD
from gateway.http.request import text_headers, without

CLOUDFRONT_REPLACES = frozenset(
    {*(name.encode() for name in HOP_BY_HOP), b"content-length", b"via", b"x-cache", b"x-amz-cf-id"}
)
"""Response header names not passed on as they are (kept in ``ResponseHead.special``)."""


HEAD_GUARD = MAX_REQUEST_HEAD + 256 * 1024
"""Bytes of an unfinished response head taken before giving up on it."""


class BadResponse(Exception):
    pass


@dataclass(slots=True)
class ResponseHead:
    status: int
    reason: bytes
    lines: list[bytes]
    """Every header line as it arrived (``name: value\\r\\n``), in order."""
    drop: list[int]
    """Indexes in ``lines`` of the headers in :data:`CLOUDFRONT_REPLACES`."""
    special: dict[bytes, list[bytes]]
    """Values of the headers in :data:`CLOUDFRONT_REPLACES`, by lower-cased name."""
    keep_alive: bool

    def passed_lines(self) -> list[bytes]:
        """The header lines CloudFront passes on as they are, in order."""
        return without(self.lines, self.drop)

    def text_headers(self) -> list[tuple[str, str]]:
        return text_headers(self.lines)

    def ends_at_close(self, bodiless: bool = False) -> bool:
        """The body runs until the server closes the connection (RFC 9112 6.3: neither chunked
        nor a length, as an HTTP/1.0 server answers). ``bodiless``: an answer to HEAD, a 204 or
        304, a 101 (no body whatever the headers say)."""
        if bodiless:
            return False
        encoding = self.special.get(b"transfer-encoding")
        if encoding is not None:
            return not encoding[-1].lower().rstrip().endswith(b"chunked")
        return b"content-length" not in self.special


class ResponseEvents(Protocol):
    def response(self, head: ResponseHead) -> None:
        """A final (or 101) response head; BadResponse to refuse it."""

    def body(self, data: bytes) -> None: ...

    def end(self, keep_alive: bool) -> None: ...

    def upgrade(self, tail: bytes) -> None:
        """After a 101: ``tail`` are the first bytes of the upgraded connection."""


class ResponseReader:
    def __init__(self, events: ResponseEvents) -> None:
        self.events = events
        self.parser = httptools.HttpResponseParser(self)
        self.expecting = False
        """A request is out and its response not read whole: bytes are welcome."""
        self.passing_headers = True
        self._reason = b""
        self._lines: list[bytes] = []
        self._drop: list[int] = []
        self._special: dict[bytes, list[bytes]] = {}
        self._interim = False
        self._head_bytes = 0

    def feed(self, data: bytes) -> None:
        """BadResponse for bytes that are not a response, or not one asked for."""
        if self.passing_headers and self.expecting:  # a head being read: bounded
            self._head_bytes += len(data)
            if self._head_bytes > HEAD_GUARD:
                raise BadResponse(f"response head over {HEAD_GUARD} bytes and not finished")
        else:
            self._head_bytes = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.events.upgrade(data[int(exc.args[0]) :])
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, BadResponse):
                raise cause from None
            raise
        except httptools.HttpParserError as exc:
            raise BadResponse(str(exc)) from None

    # llhttp callbacks

    def on_message_begin(self) -> None:
        if not self.expecting:
            raise BadResponse("the task sent a response nobody asked for")
        self._reason = b""
        self._lines = []
        self._drop = []
        self._special = {}
        self.passing_headers = True

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.passing_headers:
            return  # trailers are not passed on
        lines = self._lines
        lines.append(name + b": " + value + b"\r\n")
        lower = name.lower()
        if lower in CLOUDFRONT_REPLACES:
            found = self._special.get(lower)
            if found is None:
                self._special[lower] = [value.rstrip(b" \t")]
            else:
                found.append(value.rstrip(b" \t"))
            self._drop.append(len(lines) - 1)

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        self._interim = 100 <= status < 200 and status != 101
        if self._interim:
            return  # 100 Continue, 103 Early Hints: not passed on
        self.passing_headers = False
        lines = self._lines
        if sum(map(len, lines)) > MAX_REQUEST_HEAD:
            raise BadResponse(f"response head over {MAX_REQUEST_HEAD} bytes")
        head = ResponseHead(
            status, self._reason, lines, self._drop, self._special, self.parser.should_keep_alive()
        )
        self.events.response(head)

    def on_body(self, data: bytes) -> None:
        self.events.body(data)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.parser.get_status_code() == 101:
            return  # llhttp stops next, with the tunnel's first bytes (HttpParserUpgrade)
        self.expecting = False
        self.events.end(self.parser.should_keep_alive())

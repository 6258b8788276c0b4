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

from gateway.aws.limits import MAX_REQUEST_HEAD

CLOUDFRONT_REPLACES = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"via",
        b"x-cache",
        b"x-amz-cf-id",
    }
)
"""Response header names not passed on as they are (kept in ``ResponseHead.special``)."""


class BadResponse(Exception):
    pass


@dataclass(slots=True)
class ResponseHead:
    status: int
    reason: bytes
    lines: list[bytes]
    """``name: value\\r\\n`` for every header not in :data:`CLOUDFRONT_REPLACES`, in order."""
    special: dict[bytes, list[bytes]]
    raw: list[tuple[bytes, bytes]]
    keep_alive: bool

    def text_headers(self) -> list[tuple[str, str]]:
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw]


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
        self._raw: list[tuple[bytes, bytes]] = []
        self._lines: list[bytes] = []
        self._special: dict[bytes, list[bytes]] = {}
        self._size = 0
        self._interim = False

    def feed(self, data: bytes) -> None:
        """BadResponse for bytes that are not a response, or not one asked for."""
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
        self._raw = []
        self._lines = []
        self._special = {}
        self._size = 0
        self.passing_headers = True

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.passing_headers:
            return  # trailers are not passed on
        value = value.rstrip(b" \t")
        self._raw.append((name, value))
        self._size += len(name) + len(value) + 4
        if self._size > MAX_REQUEST_HEAD:
            raise BadResponse(f"response head over {MAX_REQUEST_HEAD} bytes")
        lower = name.lower()
        if lower in CLOUDFRONT_REPLACES:
            found = self._special.get(lower)
            if found is None:
                self._special[lower] = [value]
            else:
                found.append(value)
        else:
            self._lines.append(name + b": " + value + b"\r\n")

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        self._interim = 100 <= status < 200 and status != 101
        if self._interim:
            return  # 100 Continue, 103 Early Hints: not passed on
        self.passing_headers = False
        head = ResponseHead(
            status, self._reason, self._lines, self._special, self._raw, self.parser.should_keep_alive()
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

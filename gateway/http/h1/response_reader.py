"""A task's bytes in, responses out: llhttp frames them; the head comes out ready for the viewer.

    reader = ResponseReader(idle, set_aside=CLOUDFRONT_REPLACES)
    reader.expect(events) # a request went out: its response to ``events``
    reader.feed(data)     # events.response(...), .body(data), .end(keep_alive), .upgrade(tail);
                          # BadResponse if the bytes are not a response
    reader.release()      # back to ``idle`` (a connection kept for the next request)

The reader frames; which headers a proxy does not pass on as they are is the
caller's policy (CloudFront's is :data:`gateway.aws.headers.CLOUDFRONT_REPLACES`):
their lines are set aside (``ResponseHead.aside``), with those of the framing
headers, which the reader always sets aside, whose values are kept
(``ResponseHead.special``, with ``Connection``'s); every other header line is kept as the task sent it (llhttp
checked it). Interim responses (100, 103) are read and dropped; a ``101`` stops
the reader (the bytes after it are not HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

import httptools

from gateway.aws.limits import MAX_REQUEST_HEAD
from gateway.http.h1.names import learn
from gateway.http.request import text_headers

FRAMING = frozenset({b"content-length", b"transfer-encoding"})
"""Set aside whatever the caller asks: the engine frames what it passes on itself."""
VALUED = FRAMING | {b"connection"}
"""The set-aside headers whose values are kept: the framing, and ``Connection`` (whether it
names other headers); the others' lines are only left out."""


HEAD_GUARD = MAX_REQUEST_HEAD + 256 * 1024
"""Bytes of an unfinished response head taken before giving up on it."""


class BadResponse(Exception):
    pass


@dataclass(slots=True)
class ResponseHead:
    status: int
    reason: bytes
    lines: list[bytes]
    """The header lines not set aside, as they arrived (``name: value\\r\\n``), in order: what is
    passed on as it is."""
    aside: list[bytes]
    """The header lines set aside, in order."""
    drop: list[int]
    """Where each line of ``aside`` was among all the head's lines."""
    special: dict[bytes, list[bytes]]
    """Values of the :data:`VALUED` headers, by lower-cased name."""
    keep_alive: bool

    def passed_lines(self) -> list[bytes]:
        """The header lines not set aside, in order."""
        return self.lines

    def all_lines(self) -> list[bytes]:
        """Every header line as it arrived, in order."""
        lines = self.lines.copy()
        for index, line in zip(self.drop, self.aside, strict=True):  # ascending: each in its place
            lines.insert(index, line)
        return lines

    def text_headers(self) -> list[tuple[str, str]]:
        return text_headers(self.all_lines())

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


@cache
def _aside(set_aside: frozenset[bytes]) -> frozenset[bytes]:
    return set_aside | FRAMING


@cache
def _names(aside: frozenset[bytes]) -> dict[bytes, bytes]:
    """Names as spelled on the wire -> their lower-cased form if set aside, else ``b""`` (one dict
    lookup a header instead of a lower-casing and a set lookup)."""
    return {}


class ResponseReader:
    def __init__(self, idle: ResponseEvents, set_aside: frozenset[bytes] = frozenset()) -> None:
        """``idle``: what hears of bytes while no response is expected; ``set_aside``: lower-cased
        names of the headers not passed on as they are."""
        self.idle = self.events = idle
        self._set_aside = _aside(set_aside)
        self._names = _names(self._set_aside)
        self.parser = httptools.HttpResponseParser(self)
        self.expecting = False
        """A request is out and its response not read whole: bytes are welcome."""
        self.passing_headers = True
        self._reason = b""
        self._lines: list[bytes] = []
        self._aside: list[bytes] = []
        self._drop: list[int] = []
        self._special: dict[bytes, list[bytes]] = {}
        self._interim = False
        self._switching = False
        """The head read last is a 101's."""
        self._head_bytes = 0

    def expect(self, events: ResponseEvents) -> None:
        """A request went out: its response goes to ``events``."""
        self.expecting = True
        self.events = events

    def release(self) -> None:
        """Whoever expected a response lets go: events go back to ``idle``."""
        self.events = self.idle

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
        self._aside = []
        self._drop = []
        self._special = {}
        self.passing_headers = True

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.passing_headers:
            return  # trailers are not passed on
        lower = self._names.get(name)
        if lower is None:
            lower = learn(self._names, self._set_aside, name)
        if not lower:
            self._lines.append(b"".join((name, b": ", value, b"\r\n")))
        else:
            aside = self._aside
            self._drop.append(len(self._lines) + len(aside))
            aside.append(b"".join((name, b": ", value, b"\r\n")))
            if lower in VALUED:
                found = self._special.get(lower)
                if found is None:
                    self._special[lower] = [value.rstrip(b" \t")]
                else:
                    found.append(value.rstrip(b" \t"))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        self._interim = 100 <= status < 200 and status != 101
        if self._interim:
            return  # 100 Continue, 103 Early Hints: not passed on
        self._switching = status == 101
        self.passing_headers = False
        lines, aside = self._lines, self._aside
        if len(b"".join(lines)) + len(b"".join(aside)) > MAX_REQUEST_HEAD:  # faster than sum(map(len, ...))
            raise BadResponse(f"response head over {MAX_REQUEST_HEAD} bytes")
        head = ResponseHead(
            status, self._reason, lines, aside, self._drop, self._special, self.parser.should_keep_alive()
        )
        self.events.response(head)

    def on_body(self, data: bytes) -> None:
        self.events.body(data)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._switching:
            return  # llhttp stops next, with the tunnel's first bytes (HttpParserUpgrade)
        self.expecting = False
        self.events.end(self.parser.should_keep_alive())

"""A viewer's bytes in, requests out: llhttp frames every byte, and each head is checked once.

    reader = RequestReader(events, set_aside=EDGE_REWRITES)   # names not passed on as they are
    reader.feed(data)     # calls events.request(head), .body(data), .end(), .trailer(...),
                          # .refuse(rejection), .upgrade(tail)

After :meth:`RequestEvents.refuse` or :meth:`RequestEvents.upgrade` the reader
takes no further bytes: nothing after a bad head is ever read as a request,
and the bytes after an ``Upgrade`` head are not HTTP.

The reader frames; which headers a proxy rewrites is the caller's policy
(CloudFront's is :data:`gateway.aws.headers.EDGE_REWRITES`): their lines are
set aside (``RequestHead.drop``) and their values kept (``RequestHead.special``),
with those of the framing headers, which the reader always sets aside, and those of
:data:`~gateway.http.request.NOTED` (``Host``), whose lines are passed on.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import httptools

from gateway.aws.limits import MAX_REQUEST_HEAD, MAX_URL
from gateway.http.h1.names import learn
from gateway.http.request import NOTED, Rejection, RequestHead, check

HEAD_GUARD = MAX_REQUEST_HEAD + 256 * 1024
"""Bytes of an unfinished head taken before answering 413 (the exact quota is checked once the
head is whole)."""
_TE = b"transfer-encoding"
_CL = b"content-length"
FRAMING = frozenset({_TE, _CL, b"upgrade"})
"""Set aside whatever the caller asks: the engine frames the body (and an upgrade) itself."""


@cache
def _kept(set_aside: frozenset[bytes]) -> frozenset[bytes]:
    """The names whose values are kept: those set aside, the framing ones, and :data:`NOTED`
    (whose lines are passed on)."""
    return set_aside | FRAMING | NOTED


@cache
def _names(kept: frozenset[bytes]) -> dict[bytes, bytes]:
    """Names as spelled on the wire -> their lower-cased form if kept, else ``b""`` (one dict
    lookup a header instead of a lower-casing and a set lookup)."""
    return {}


class RequestEvents(Protocol):
    def request(self, head: RequestHead) -> None:
        """A head arrived whole and passed :func:`~gateway.http.request.check`."""

    def body(self, data: bytes) -> None: ...

    def end(self) -> None:
        """The request's body (if any) arrived whole."""

    def trailer(self, name: str, value: str) -> None:
        """A trailer field after a chunked body."""

    def refuse(self, rejection: Rejection, in_body: bool) -> None:
        """The bytes are bad (inside a body, when ``in_body``): nothing more is read."""

    def upgrade(self, tail: bytes) -> None:
        """The last head asked to upgrade; ``tail`` are the bytes after it."""


class _Refused(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.detail)
        self.rejection = rejection


class RequestReader:
    def __init__(self, events: RequestEvents, set_aside: frozenset[bytes]) -> None:
        """``set_aside``: lower-cased names of the headers not passed on as they are."""
        self.events = events
        self._kept = _kept(set_aside)
        self._names = _names(self._kept)
        self.parser = httptools.HttpRequestParser(self)
        self.in_head = False
        """Between the first byte of a head and its end."""
        self.in_body = False
        self.stopped = False
        self._raw_head = 0
        self._url = b""
        self._lines: list[bytes] = []
        self._drop: list[int] = []
        self._special: dict[bytes, list[bytes]] = {}

    def feed(self, data: bytes) -> None:
        if self.stopped:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.stopped = True
            self.events.upgrade(data[int(exc.args[0]) :])
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refused):
                self._refuse(cause.rejection)
            else:  # our bug, or an event handler's: answered (500), never a traceback
                self._refuse(Rejection(500, f"scf-local error: {cause!r}"))
        except httptools.HttpParserError as exc:
            self._refuse(Rejection(400, f"malformed request: {exc}"))
        else:
            if self.in_head:
                self._raw_head += len(data)
                if self._raw_head > HEAD_GUARD:
                    self._refuse(Rejection(413, f"request head over {HEAD_GUARD} bytes and not finished"))

    def unfinished(self) -> tuple[str, str]:
        """Method and target of a head being read (for the log of a refused one)."""
        method = self.parser.get_method().decode("ascii", "replace") if self.in_head else "-"
        return method, self._url[:200].decode("latin-1") or "-"

    def _refuse(self, rejection: Rejection) -> None:
        self.stopped = True
        self.events.refuse(rejection, self.in_body)

    # llhttp callbacks

    def on_message_begin(self) -> None:
        self.in_head = True
        self._url = b""
        self._lines = []
        self._special = {}
        self._drop = []

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_URL:
            raise _Refused(Rejection(413, f"URL over {MAX_URL} bytes"))

    def on_header(self, name: bytes, value: bytes) -> None:
        # the hot path: one line kept as it will be sent (one join: faster than three +), one
        # dict lookup (the name's kept lower-cased form, b"" if not kept)
        if not self.in_head:  # a trailer after a chunked body
            self.events.trailer(name.decode("latin-1"), value.decode("latin-1").rstrip(" \t"))
            return
        lines = self._lines
        lines.append(b"".join((name, b": ", value, b"\r\n")))
        lower = self._names.get(name)
        if lower is None:
            lower = learn(self._names, self._kept, name)
        if lower:
            found = self._special.get(lower)
            if found is None:
                self._special[lower] = [value.rstrip(b" \t")]
            else:
                found.append(value.rstrip(b" \t"))
            if lower not in NOTED:
                self._drop.append(len(lines) - 1)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._raw_head = 0
        parser = self.parser
        method = parser.get_method()
        special = self._special
        lines = self._lines
        url = self._url
        # head_size(len(method), len(url), ...), without the call; b"".join: faster than sum(map(len, ...))
        size = len(method) + len(url) + len(b"".join(lines)) + 14
        if size > MAX_REQUEST_HEAD:
            raise _Refused(Rejection(413, f"request head over {MAX_REQUEST_HEAD} bytes"))
        chunked = _TE in special  # llhttp accepts only a final "chunked" in a request
        length = special.get(_CL)
        head = RequestHead(
            method.decode("ascii"),
            url.decode("latin-1"),  # llhttp refused every byte that is not printable ASCII
            parser.get_http_version(),
            lines,
            self._drop,
            special,
            parser.should_keep_alive(),  # keep_alive (in order, not by keyword: ~250 ns less)
            chunked,
            int(length[0]) if length and not chunked else None,  # content_length (llhttp: one, digits)
            b"upgrade" in special and parser.should_upgrade(),  # upgrade
            size,
        )
        rejection = check(head)
        if rejection is not None:
            raise _Refused(rejection)
        self.in_body = True
        self.events.request(head)

    def on_body(self, data: bytes) -> None:
        self.events.body(data)

    def on_message_complete(self) -> None:
        self.in_body = False
        self.events.end()

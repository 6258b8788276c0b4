"""A viewer's request head as the parser framed it, and the one check it must pass.

    head = RequestHead.of(b"GET", b"/api/x", "1.1", [(b"Host", b"a")])
    rejection = check(head)          # None, or what CloudFront would answer (status, detail)

llhttp (through ``httptools``, strict: no lenient flags) already refuses
malformed bytes: header names that are not tokens, control characters in
values, obs-fold, bare CR or LF line ends, CL together with TE, differing or
non-ASCII lengths, bad chunk sizes, control and non-ASCII bytes in the target
(a byte table of those refusals is ``tests/unit/test_h1.py``). What a strict
edge refuses on top is :func:`check`, one rule a line, on the few fields the
reader picks out while the head arrives; the header lines themselves are never
walked again. The same for every route and every route state, before routing.

Headers stay bytes: ``lines`` holds every header line as it arrived (``name:
value\r\n``), ``drop`` the indexes of those the edge rewrites, ``special`` their
values (and ``Host``'s) by lower-cased name, so the edge's rewrite never walks
the lines again. ``headers`` is the text form (latin-1), made on first use only:
by a Lambda event, the Runtime API, the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.aws.headers import EDGE_REWRITES
from gateway.aws.limits import ALLOWED_METHODS, MAX_REQUEST_HEAD, MAX_URL

NOTED = frozenset({b"host", b"sec-fetch-mode"})
"""Headers passed on as they are whose values are kept in ``special`` too: ``Host`` (the check,
the route) and ``Sec-Fetch-Mode`` (whether a browser sent it, asked of every request)."""


class RequestHead:
    """One request head. ``method`` and ``target`` are text (ASCII, checked by llhttp)."""

    __slots__ = (
        "_text",
        "chunked",
        "content_length",
        "drop",
        "host",
        "hosts",
        "keep_alive",
        "lines",
        "method",
        "size",
        "special",
        "target",
        "upgrade",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        lines: list[bytes],
        drop: list[int],
        special: dict[bytes, list[bytes]],
        keep_alive: bool = True,  # not keyword-only: the reader passes all in order (keywords cost ~250 ns)
        chunked: bool = False,
        content_length: int | None = None,
        upgrade: bool = False,
        size: int = 0,
    ) -> None:
        self.method = method
        self.target = target
        """As sent: path and query, still percent-encoded."""
        self.version = version
        """``1.0`` or ``1.1`` once checked."""
        self.lines = lines
        """Every header line as it arrived (``name: value\r\n``), in order."""
        self.drop = drop
        """Indexes in ``lines`` of the headers the reader set aside (not passed on as they are:
        :data:`~gateway.aws.headers.EDGE_REWRITES` and the framing headers)."""
        self.special = special
        """Values of the headers set aside and of those :data:`NOTED`, by lower-cased name."""
        hosts = special.get(b"host")
        self.hosts = len(hosts) if hosts else 0
        self.host = hosts[0].decode("latin-1") if hosts else None
        self.keep_alive = keep_alive
        self.chunked = chunked
        """The body is chunked (the parser decoded it; it is re-framed toward the origin)."""
        self.content_length = content_length
        """The framed length of a sized body; None when chunked or absent."""
        self.upgrade = upgrade
        """The parser stopped after this head: the bytes that follow belong to an upgraded connection."""
        self.size = size
        """Request line plus headers, in bytes, as CloudFront counts a request head."""
        self._text: list[tuple[str, str]] | None = None

    @classmethod
    def of(
        cls,
        method: bytes,
        target: bytes,
        version: str,
        raw: list[tuple[bytes, bytes]],
        *,
        keep_alive: bool = True,
        chunked: bool = False,
        content_length: int | None = None,
    ) -> RequestHead:
        """A head from its parts, as the reader would make it (tests)."""
        lines: list[bytes] = []
        drop: list[int] = []
        special: dict[bytes, list[bytes]] = {}
        for name, value in raw:
            lower = name.lower()
            if lower in EDGE_REWRITES or lower in NOTED:
                special.setdefault(lower, []).append(value)
            if lower in EDGE_REWRITES:
                drop.append(len(lines))
            lines.append(name + b": " + value + b"\r\n")
        size = head_size(len(method), len(target), sum(map(len, lines)))
        return cls(
            method.decode("ascii"),
            target.decode("latin-1"),
            version,
            lines,
            drop,
            special,
            keep_alive=keep_alive,
            chunked=chunked,
            content_length=content_length,
            size=size,
        )

    def passed_lines(self) -> list[bytes]:
        """The header lines the edge passes on as they are (``Host`` among them), in order."""
        return without(self.lines, self.drop)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The headers as text (latin-1; values without surrounding white space), in arrival
        order; made once, on first use."""
        text = self._text
        if text is None:
            text = self._text = text_headers(self.lines)
        return text

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lower = name.lower()
        values = self.special.get(lower.encode("latin-1"))
        if values is not None:
            return values[0].decode("latin-1")
        return next((v for n, v in self.headers if n.lower() == lower), None)

    @property
    def from_browser(self) -> bool:
        """Every request of today's browsers carries ``Sec-Fetch-Mode`` (Chrome 76, Firefox 90,
        Safari 16.4)."""
        return b"sec-fetch-mode" in self.special

    @property
    def expects_continue(self) -> bool:
        expect = self.special.get(b"expect")
        return expect is not None and expect[0].lower() == b"100-continue"


def text_headers(lines: list[bytes]) -> list[tuple[str, str]]:
    """Header lines (``name: value``, with or without their CRLF) as text pairs (latin-1),
    values without surrounding white space."""
    out = []
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        out.append((name, value.strip(" \t\r\n")))
    return out


def without(lines: list[bytes], drop: list[int]) -> list[bytes]:
    """``lines`` less those at the indexes ``drop`` (ascending), in order; ``lines`` itself when
    there is nothing to drop."""
    if not drop:
        return lines
    passed = lines.copy()
    if len(drop) == 1:  # the usual case (a browser's Connection): without the loop
        del passed[drop[0]]
        return passed
    for index in reversed(drop):
        del passed[index]
    return passed


@dataclass(frozen=True)
class Rejection:
    status: int
    detail: str
    """For the access log: what was wrong."""


def head_size(method: int, target: int, header_lines: int) -> int:
    """Bytes of a request line (``method`` and ``target`` long) plus ``header_lines`` (the header
    lines' bytes, CRLFs included) and the blank line, as CloudFront counts a request head."""
    return method + 1 + target + 11 + header_lines + 2  # "M T HTTP/1.1\r\n" ... "\r\n"


def check(head: RequestHead) -> Rejection | None:
    """What CloudFront would refuse this request with, or None. Pure; one rule a line."""
    if head.version not in ("1.0", "1.1"):
        return Rejection(505, f"HTTP/{head.version} is not supported")
    if len(head.target) > MAX_URL:
        return Rejection(413, f"URL of {len(head.target)} bytes (CloudFront allows {MAX_URL})")
    if head.size > MAX_REQUEST_HEAD:
        return Rejection(413, f"request head of {head.size} bytes (CloudFront allows {MAX_REQUEST_HEAD})")
    if head.method not in ALLOWED_METHODS:
        return Rejection(403, f"method {head.method} is not allowed")
    if head.target[:1] != "/":  # llhttp refused control and non-ASCII bytes already
        return Rejection(400, "the target must be a path (origin-form)")
    if head.hosts > 1:
        return Rejection(400, "more than one Host header")
    if head.hosts == 0 and head.version == "1.1":
        return Rejection(400, "no Host header")
    special = head.special
    expect = special.get(b"expect")
    if expect is not None and any(value.lower() != b"100-continue" for value in expect):
        return Rejection(417, f"Expect: {expect[0].decode('latin-1')} is not supported")
    if head.version == "1.0" and b"transfer-encoding" in special:
        return Rejection(400, "Transfer-Encoding in an HTTP/1.0 request")
    if head.method in ("GET", "HEAD") and (head.chunked or head.content_length):  # has_body
        return Rejection(403, f"{head.method} with a body")
    return None

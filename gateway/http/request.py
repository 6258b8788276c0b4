"""A viewer's request head as the parser framed it, and the one check it must pass.

    head = RequestHead(method="GET", target="/api/x", version="1.1", headers=[("Host", "a")], ...)
    rejection = check(head)          # None, or what CloudFront would answer (status, detail)

llhttp (through ``httptools``) already refuses malformed bytes: bad tokens,
control characters, obs-fold, CL together with TE, differing or non-ASCII
lengths, bad chunk sizes. :func:`check` adds what a strict edge refuses on
top, the same for every route and every route state, before any routing:
HTTP versions other than 1.0 and 1.1, methods CloudFront does not allow,
targets that are not origin-form, CloudFront's URL and head-size quotas, a
missing or repeated ``Host``, ``Transfer-Encoding`` in HTTP/1.0, an
``Expect`` other than ``100-continue``, and GET or HEAD with a body
(CloudFront answers 403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.aws.limits import ALLOWED_METHODS, MAX_REQUEST_HEAD, MAX_URL

TOKEN_CHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
"""What a header name may be made of (RFC 9110 token)."""
TOKEN = re.compile(TOKEN_CHARS + "+")
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters a header value may not hold (HTAB is allowed)."""
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f-\xff]")


@dataclass
class RequestHead:
    method: str
    target: str
    """As sent: path and query, still percent-encoded."""
    version: str
    """``1.0`` or ``1.1`` once checked."""
    headers: list[tuple[str, str]]
    """In arrival order, names as sent, values without surrounding white space (latin-1)."""
    keep_alive: bool
    chunked: bool
    """The body is chunked (the parser decoded it; it is re-framed toward the origin)."""
    content_length: int | None
    """The framed length of a sized body; None when chunked or absent."""
    upgrade: bool = False
    """The parser stopped after this head: the bytes that follow belong to an upgraded connection."""
    size: int = 0
    """Request line plus headers, in bytes."""

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for n, v in self.headers if n.lower() == lower), None)

    @property
    def expects_continue(self) -> bool:
        expect = self.header("expect")
        return expect is not None and expect.lower() == "100-continue"


@dataclass(frozen=True)
class Rejection:
    status: int
    detail: str
    """For the access log: what was wrong."""


def head_size(method: str, target: str, header_lines: int) -> int:
    """Bytes of the request line plus ``header_lines`` (the header lines' bytes, CRLFs included)
    and the blank line, as CloudFront counts a request head."""
    return len(method) + len(target) + 11 + header_lines + 2


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
    if not head.target.startswith("/") or _BAD_TARGET.search(head.target):
        return Rejection(400, "the target must be a path (origin-form)")
    hosts = 0
    for name, value in head.headers:
        if not TOKEN.fullmatch(name):
            return Rejection(400, f"invalid header name {name!r}")
        if BAD_VALUE.search(value):
            return Rejection(400, f"control character in header {name}")
        lower = name.lower()
        if lower == "host":
            hosts += 1
        elif lower == "expect" and value.lower() != "100-continue":
            return Rejection(417, f"Expect: {value} is not supported")
        elif lower == "transfer-encoding" and head.version == "1.0":
            return Rejection(400, "Transfer-Encoding in an HTTP/1.0 request")
    if hosts > 1:
        return Rejection(400, "more than one Host header")
    if hosts == 0 and head.version == "1.1":
        return Rejection(400, "no Host header")
    if head.method in ("GET", "HEAD") and head.has_body:
        return Rejection(403, f"{head.method} with a body")
    return None

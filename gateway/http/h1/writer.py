"""HTTP/1.1 out, without I/O: heads and bodies in, the bytes to send out (as h11 does).

    request_head("GET", "/", headers, length=None, chunked=False)  # request line, headers, framing
    end_request_head(block, length=12, chunked=False)              # a block made elsewhere, framed
    response_head(101, "Switching Protocols", headers)             # a head sent as it is
    framing, lines = response_framing("GET", "1.1", 200, None)     # "chunked", b"transfer-encoding: ..."
    end_response_head(lines, close=False, version="1.1")           # framing, Connection, blank line
    chunk(b"abc")                                                  # b"3\\r\\nabc\\r\\n"
    last_chunk([("checksum", "x")])                                # b"0\\r\\nchecksum: x\\r\\n\\r\\n"

Every header name must be a token and no value may hold a control character
(RFC 9110 5.5, 5.6.2): :class:`InvalidHeader` otherwise, so nothing an origin
asks to send can split a head. The engine writes lower-case framing headers
(``content-length``, ``transfer-encoding``, ``connection``) after the others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Headers = Sequence[tuple[str, str]]
Framing = Literal["length", "chunked", "close", "none"]
"""How a body is delimited: ``Content-Length``, chunked, the connection's close, or no body."""

_TOKEN_CHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_TOKEN = re.compile(_TOKEN_CHARS + "+")
_NAMES = re.compile(f"{_TOKEN_CHARS}+(?:\n{_TOKEN_CHARS}+)*")
"""Every name a token (RFC 9110, 5.6.2), checked at once on the names joined by line feeds:
the line count in `head_block` proves no name holds one, so each piece between them is one name (a
comma would not do: ``a,b`` is two tokens joined by one)."""
_CTL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

CHUNKED = b"transfer-encoding: chunked\r\n"
CLOSE = b"connection: close\r\n"
KEEP_ALIVE = b"connection: keep-alive\r\n"
LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
"""The interim answer to ``Expect: 100-continue``."""


class InvalidHeader(ValueError):
    """A header that cannot be sent as is (a name that is not a token, a control character)."""


def head_block(first_line: str, headers: Headers) -> bytes:
    """The first line (with its CRLF) and the header lines, without the blank line that ends a head."""
    text = first_line + "".join([f"{name}: {value}\r\n" for name, value in headers])
    # One check of the whole block instead of one per header: every CR and LF must be
    # a line end we wrote, and no other control character may appear.
    if _CTL.search(text) or text.count("\n") != len(headers) + 1 or text.count("\r") != len(headers) + 1:
        bad = next(((n, v) for n, v in headers if not _TOKEN.fullmatch(n) or _BAD_VALUE.search(v)), None)
        raise InvalidHeader(f"header {bad[0]!r}: {bad[1][:40]!r}" if bad else "invalid header")
    if headers and not _NAMES.fullmatch("\n".join([name for name, _ in headers])):
        bad_name = next(name for name, _ in headers if not _TOKEN.fullmatch(name))
        raise InvalidHeader(f"header name {bad_name!r}")
    return text.encode("latin-1", "replace")


# requests (toward an origin: always HTTP/1.1)


def request_block(method: str, target: str, headers: Headers) -> bytes:
    """The request line and header lines, to be ended by :func:`end_request_head`."""
    return head_block(f"{method} {target} HTTP/1.1\r\n", headers)


def end_request_head(block: bytes, *, length: int | None = None, chunked: bool = False) -> bytes:
    """``block`` (request line and headers, no framing headers) with its body's framing and the
    blank line: chunked, ``Content-Length``, or nothing for a request without a body."""
    if chunked:
        return block + CHUNKED + b"\r\n"
    if length is not None:
        return block + b"content-length: %d\r\n\r\n" % length
    return block + b"\r\n"


def request_head(
    method: str, target: str, headers: Headers, *, length: int | None = None, chunked: bool = False
) -> bytes:
    """A whole request head: ``headers`` (no framing headers among them), then the framing."""
    return end_request_head(request_block(method, target, headers), length=length, chunked=chunked)


# responses


def response_block(status: int, reason: str, headers: Headers) -> bytes:
    """The status line and header lines, to be ended by :func:`end_response_head`."""
    return head_block(f"HTTP/1.1 {status} {reason}\r\n", headers)


def response_head(status: int, reason: str, headers: Headers) -> bytes:
    """A whole response head sent as it is, framing left to ``headers`` (a ``101``, whose
    ``Connection`` and ``Upgrade`` headers are its own)."""
    return response_block(status, reason, headers) + b"\r\n"


def response_framing(method: str, version: str, status: int, length: int | None) -> tuple[Framing, bytes]:
    """How the body of a response to ``method`` (from an HTTP/``version`` viewer) is framed, and
    the header line that says so. ``length``: the body's, None when unknown.

    No body after HEAD, 1xx, 204 and 304 (an answer to HEAD still says the length of the body a
    GET would get); the length when it is known; chunked for HTTP/1.1 otherwise; for HTTP/1.0,
    until the connection closes."""
    if method == "HEAD" or status in (204, 304) or status < 200:
        if length is not None and method == "HEAD" and status not in (204, 304):
            return "none", b"content-length: %d\r\n" % length
        return "none", b""
    if length is not None:
        return "length", b"content-length: %d\r\n" % length
    if version == "1.1":
        return "chunked", CHUNKED
    return "close", b""


def end_response_head(framing_lines: bytes, *, close: bool, version: str) -> bytes:
    """The end of a response head: its framing line, ``Connection`` when the default does not hold
    (close after it; keep-alive to an HTTP/1.0 viewer), the blank line."""
    if close:
        return framing_lines + CLOSE + b"\r\n"
    if version == "1.0":
        return framing_lines + KEEP_ALIVE + b"\r\n"
    return framing_lines + b"\r\n"


# bodies


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (``data`` not empty: an empty chunk ends the body)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def last_chunk(trailers: Headers = ()) -> bytes:
    """The end of a chunked body, with its trailer fields."""
    if not trailers:
        return LAST_CHUNK
    return head_block("0\r\n", trailers) + b"\r\n"

"""HTTP/1.1 out, without I/O: what the writer makes of heads and bodies, as byte tables.

Requests toward an origin are always HTTP/1.1 and framed as the viewer's body was; responses
are framed by what the viewer asked (method, version) and what the origin knows (the length);
every name is a token and no value holds a control character, so no header splits a head.
"""

from __future__ import annotations

import httptools
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.http.h1 import writer
from gateway.http.h1.writer import (
    InvalidHeader,
    chunk,
    end_request_head,
    end_response_head,
    last_chunk,
    request_block,
    request_head,
    response_framing,
    response_head,
)

# request heads


@pytest.mark.parametrize(
    ("length", "chunked", "framing"),
    [
        (None, False, b""),
        (0, False, b"content-length: 0\r\n"),
        (12, False, b"content-length: 12\r\n"),
        (None, True, b"transfer-encoding: chunked\r\n"),
    ],
)
def test_a_request_head_ends_with_its_bodys_framing(
    length: int | None, chunked: bool, framing: bytes
) -> None:
    got = request_head("POST", "/a?b=1", [("Host", "x"), ("Accept", "*/*")], length=length, chunked=chunked)
    assert got == b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n" + framing + b"\r\n"


def test_a_block_made_elsewhere_is_framed_the_same_way() -> None:
    block = request_block("GET", "/", [("Host", "x")])
    assert block == b"GET / HTTP/1.1\r\nHost: x\r\n"
    assert end_request_head(block, length=3) == request_head("GET", "/", [("Host", "x")], length=3)


# response heads


def test_a_response_head_is_sent_as_it_is() -> None:
    got = response_head(101, "Switching Protocols", [("Connection", "Upgrade"), ("Upgrade", "websocket")])
    assert got == b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"


@pytest.mark.parametrize(
    ("method", "version", "status", "length", "framing", "line"),
    [
        ("GET", "1.1", 200, 5, "length", b"content-length: 5\r\n"),
        ("GET", "1.1", 200, None, "chunked", b"transfer-encoding: chunked\r\n"),
        ("GET", "1.0", 200, None, "close", b""),  # HTTP/1.0 knows no chunks
        ("GET", "1.0", 200, 5, "length", b"content-length: 5\r\n"),
        ("HEAD", "1.1", 200, 5, "none", b"content-length: 5\r\n"),  # the length a GET would get
        ("HEAD", "1.1", 200, None, "none", b""),
        ("HEAD", "1.1", 304, 5, "none", b""),
        ("GET", "1.1", 204, 5, "none", b""),
        ("GET", "1.1", 304, None, "none", b""),
        ("GET", "1.1", 103, None, "none", b""),
    ],
)
def test_a_responses_framing_follows_the_request_and_the_status(
    method: str, version: str, status: int, length: int | None, framing: str, line: bytes
) -> None:
    assert response_framing(method, version, status, length) == (framing, line)


@pytest.mark.parametrize(
    ("close", "version", "end"),
    [
        (False, "1.1", b"\r\n"),  # HTTP/1.1 keeps the connection by default
        (True, "1.1", b"connection: close\r\n\r\n"),
        (False, "1.0", b"connection: keep-alive\r\n\r\n"),  # HTTP/1.0 closes by default
        (True, "1.0", b"connection: close\r\n\r\n"),
    ],
)
def test_a_response_head_says_connection_only_against_the_default(
    close: bool, version: str, end: bytes
) -> None:
    assert (
        end_response_head(b"content-length: 0\r\n", close=close, version=version)
        == b"content-length: 0\r\n" + end
    )


# bodies


def test_a_chunk_is_its_length_in_hex_then_the_bytes() -> None:
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    assert chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"


def test_the_last_chunk_carries_the_trailers() -> None:
    assert last_chunk() == b"0\r\n\r\n" == writer.LAST_CHUNK
    assert last_chunk([("Checksum", "abc"), ("X-Done", "1")]) == b"0\r\nChecksum: abc\r\nX-Done: 1\r\n\r\n"
    with pytest.raises(InvalidHeader):
        last_chunk([("X", "a\r\nEvil: 1")])


# what cannot be sent


@pytest.mark.parametrize(
    "headers",
    [
        [("X", "a\r\nSet-Cookie: evil")],  # a value that would split the head
        [("X", "a\nb")],
        [("X", "a\x00b")],
        [("X Y", "1")],  # a name that is not a token
        [("a,b", "1")],
        [("", "1")],
        [("X:", "1")],
    ],
)
def test_no_header_can_split_a_head(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidHeader, match="header"):
        response_head(200, "OK", headers)
    with pytest.raises(InvalidHeader, match="header"):
        request_head("GET", "/", headers)


def test_a_tab_in_a_value_is_sent() -> None:
    assert response_head(200, "OK", [("X", "a\tb")]) == b"HTTP/1.1 200 OK\r\nX: a\tb\r\n\r\n"


# what a strict parser reads back


class _Read:
    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_message_complete(self) -> None:
        self.done = True


TOKENS = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1
)
VALUES = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(str.strip)


@given(
    headers=st.lists(
        st.tuples(TOKENS, VALUES).filter(
            lambda h: h[0].lower() not in ("content-length", "transfer-encoding")
        ),
        max_size=6,
    ),
    pieces=st.lists(st.binary(min_size=1, max_size=40), max_size=4),
)
def test_llhttp_reads_back_what_the_writer_wrote(headers: list[tuple[str, str]], pieces: list[bytes]) -> None:
    data = request_head("POST", "/p", headers, chunked=True) + b"".join(map(chunk, pieces)) + last_chunk()
    read = _Read()
    httptools.HttpRequestParser(read).feed_data(data)
    assert read.done
    assert read.headers[: len(headers)] == [(n.encode(), v.encode()) for n, v in headers]
    assert read.body == b"".join(pieces)

"""HTTP/1.1 without I/O: what the readers make of bytes, as byte tables.

The request reader frames a viewer's bytes once (llhttp, strict) and checks each head once;
the response reader frames a task's answer and takes out what CloudFront replaces. Neither
has a socket: bytes in, events out.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gateway.aws.headers as edge
from gateway.aws.headers import (
    CLOUDFRONT_REPLACES,
    EDGE_REWRITES,
    alb_origin_head,
    edge_response_head,
    edge_response_headers,
    origin_request_headers,
)
from gateway.aws.routing import RouteDecision
from gateway.http.h1.request_reader import RequestReader
from gateway.http.h1.response_reader import BadResponse, ResponseHead, ResponseReader
from gateway.http.h1.writer import InvalidHeader, request_head, response_head
from gateway.http.request import Rejection, RequestHead


class Seen:
    """Every event a reader raised, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def request(self, head: RequestHead) -> None:
        self.events.append(("request", head))

    def response(self, head: ResponseHead) -> None:
        self.events.append(("response", head))

    def body(self, data: bytes) -> None:
        self.events.append(("body", data))

    def end(self, keep_alive: bool | None = None) -> None:
        self.events.append(("end", keep_alive))

    def trailer(self, name: str, value: str) -> None:
        self.events.append(("trailer", (name, value)))

    def refuse(self, rejection: Rejection, in_body: bool) -> None:
        self.events.append(("refuse", (rejection.status, in_body)))

    def upgrade(self, tail: bytes) -> None:
        self.events.append(("upgrade", tail))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


def read_request(*chunks: bytes) -> Seen:
    seen = Seen()
    reader = RequestReader(seen, EDGE_REWRITES)
    for chunk in chunks:
        reader.feed(chunk)
    return seen


H = b"Host: a\r\n"

# (what, bytes, status): llhttp's refusals and the edge's rules, one line each
REFUSED = [
    ("NUL in a value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400),
    ("DEL in a value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n", 400),
    ("ESC in a value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x1bb\r\n\r\n", 400),
    ("a name that is not a token", b"GET / HTTP/1.1\r\n" + H + b"X(A): b\r\n\r\n", 400),
    ("space before the colon", b"GET / HTTP/1.1\r\n" + H + b"X : b\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", 400),
    ("bare CR in a value", b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", 400),
    ("control byte in the path", b"GET /a\x01 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("non-ASCII in the query", b"GET /a?\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400),
    (
        "CL and TE",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    ("two lengths", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    ("no Host", b"GET / HTTP/1.1\r\nX: y\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("absolute form", b"GET http://a/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("asterisk form", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("TRACE", b"TRACE / HTTP/1.1\r\n" + H + b"\r\n", 403),
    ("GET with a body", b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n\r\nx", 403),
    (
        "Expect other than 100-continue",
        b"POST / HTTP/1.1\r\n" + H + b"Expect: x\r\nContent-Length: 1\r\n\r\n",
        417,
    ),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ("URL over the quota", b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\n" + H + b"\r\n", 413),
    ("head over the quota", b"GET / HTTP/1.1\r\n" + H + b"X: " + b"v" * 20480 + b"\r\n\r\n", 413),
]


@pytest.mark.parametrize(("what", "data", "status"), REFUSED, ids=[r[0] for r in REFUSED])
def test_the_request_reader_refuses(what: str, data: bytes, status: int) -> None:
    seen = read_request(data)
    assert seen.events == [("refuse", (status, False))]


def test_a_refused_head_stops_the_reader_for_good() -> None:
    seen = Seen()
    reader = RequestReader(seen, EDGE_REWRITES)
    reader.feed(b"GET / HTTP/1.1\r\nX: y\r\n\r\n")
    reader.feed(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    assert seen.kinds() == ["refuse"]


def test_bad_bytes_inside_a_body_are_refused_as_such() -> None:
    seen = read_request(b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert seen.kinds() == ["request", "refuse"] and seen.events[1][1] == (400, True)


def test_a_head_dribbled_a_byte_at_a_time_is_one_request() -> None:
    data = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com \r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"
    seen = read_request(*[data[i : i + 1] for i in range(len(data))])
    assert seen.kinds() == ["request", "end"]
    head = seen.events[0][1]
    assert (head.method, head.target, head.version, head.host) == ("GET", "/a?b=1", "1.1", "example.com")
    assert head.headers == [("Host", "example.com"), ("Accept", "*/*"), ("Connection", "keep-alive")]
    assert head.passed_lines() == [b"Host: example.com \r\n", b"Accept: */*\r\n"]
    assert head.special[b"connection"] == [b"keep-alive"] and head.size == len(data)


def test_pipelined_requests_come_out_in_order_with_their_bodies() -> None:
    seen = read_request(
        b"POST /one HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc"
        b"POST /two HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
        b"GET /three HTTP/1.1\r\n" + H + b"\r\n"
    )
    assert seen.kinds() == ["request", "body", "end", "request", "body", "trailer", "end", "request", "end"]
    first, second, third = (head for kind, head in seen.events if kind == "request")
    assert (first.content_length, first.chunked) == (3, False)
    assert (second.content_length, second.chunked) == (None, True)
    assert third.target == "/three" and not third.has_body
    assert ("trailer", ("X-T", "1")) in seen.events


def test_an_upgrade_stops_the_reader_with_the_bytes_after_the_head() -> None:
    seen = read_request(
        b"GET /ws HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"
    )
    assert seen.kinds() == ["request", "end", "upgrade"]
    assert seen.events[0][1].upgrade and seen.events[-1] == ("upgrade", b"\x81\x05hello")


def read_response(*chunks: bytes) -> Seen:
    seen = Seen()
    reader = ResponseReader(seen, CLOUDFRONT_REPLACES)
    reader.expect(seen)
    for chunk in chunks:
        reader.feed(chunk)
    return seen


def test_the_response_reader_keeps_what_cloudfront_passes_on() -> None:
    seen = read_response(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVia: 1.1 task\r\nContent-Length: 2\r\n"
        b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Cache: HIT\r\nSet-Cookie: a=1\r\n\r\nok"
    )
    assert seen.kinds() == ["response", "body", "end"]
    head = seen.events[0][1]
    assert head.passed_lines() == [b"Content-Type: text/plain\r\n", b"Set-Cookie: a=1\r\n"]
    assert head.special[b"content-length"] == [b"2"] and head.keep_alive


def test_interim_responses_are_read_and_dropped() -> None:
    seen = read_response(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n"
    )
    assert seen.kinds() == ["response", "end"] and seen.events[0][1].status == 204


def test_a_101_hands_over_the_bytes_after_it() -> None:
    seen = read_response(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw"
    )
    assert seen.kinds() == ["response", "upgrade"] and seen.events[-1] == ("upgrade", b"raw")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\na,b: 1\r\nContent-Length: 0\r\n\r\n",  # a name that is not a token
        b"NOT HTTP\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"v" * 300_000,
    ],
)
def test_the_response_reader_refuses_what_is_not_a_response(data: bytes) -> None:
    with pytest.raises(BadResponse):
        read_response(data)


# What a function answers is written only when every header name is a token (RFC 9110,
# 5.6.2), each on its own: the gateway answers the Function URL's 502 otherwise.


@pytest.mark.parametrize("char", [*'"(),/;<=>?@[\\]{} \t', "\x7f", "\u00e9"])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_header_name_that_is_not_a_token_is_refused_wherever_it_stands(char: str, position: int) -> None:
    headers = [("x-one", "1"), ("x-two", "2")]
    headers.insert(position, (f"a{char}b", "1"))
    with pytest.raises(InvalidHeader, match="header"):
        response_head(200, "OK", headers)


def test_header_names_that_are_tokens_are_written_as_they_are() -> None:
    headers = [("a", "1"), ("X-Two", "2, 3"), ("!#$%&'*+-.^_`|~", "4")]
    assert response_head(200, "OK", headers) == (
        b"HTTP/1.1 200 OK\r\na: 1\r\nX-Two: 2, 3\r\n!#$%&'*+-.^_`|~: 4\r\n\r\n"
    )
    with pytest.raises(InvalidHeader, match="header name 'a,b'"):
        response_head(200, "OK", [("a,b", "1")])


def test_the_readers_set_aside_only_the_framing_and_what_the_caller_names() -> None:
    response = b"HTTP/1.1 200 OK\r\nVia: 1.1 task\r\nContent-Length: 0\r\n\r\n"
    plain, edge = Seen(), Seen()
    for seen, names in ((plain, frozenset[bytes]()), (edge, CLOUDFRONT_REPLACES)):
        reader = ResponseReader(seen, names)
        reader.expect(seen)
        reader.feed(response)
    assert plain.events[0][1].passed_lines() == [b"Via: 1.1 task\r\n"]
    assert edge.events[0][1].passed_lines() == []
    request = b"GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 b\r\nContent-Length: 0\r\n\r\n"
    seen = Seen()
    RequestReader(seen, frozenset()).feed(request)
    assert seen.events[0][1].passed_lines() == [b"Host: a\r\n", b"Via: 1.1 b\r\n"]


def test_a_response_goes_to_whoever_expects_it_and_then_back_to_idle() -> None:
    idle, forward = Seen(), Seen()
    reader = ResponseReader(idle, CLOUDFRONT_REPLACES)
    reader.expect(forward)
    reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    reader.release()
    assert forward.kinds() == ["response", "body", "end"] and idle.events == []
    assert reader.events is idle


def test_bytes_nobody_asked_for_are_refused() -> None:
    reader = ResponseReader(Seen(), CLOUDFRONT_REPLACES)
    with pytest.raises(BadResponse):
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


# The edge's rewrite on bytes is the text functions' rewrite, byte for byte.

NAMES = st.sampled_from(
    ["Host", "Accept", "Connection", "X-Forwarded-For", "Via", "X-Amzn-Trace-Id", "X-Forwarded-Port",
     "Keep-Alive", "TE", "X-Origin-Id", "Cookie", "x-amz-cf-id", "X-Real-IP", "Upgrade", "Trailer"]
)  # fmt: skip
VALUES = st.sampled_from(
    ["a", "1.2.3.4", "keep-alive", "close", "Root=1-abc;Parent=2", "Self=1;Root=2", "x y"]
)
DECISIONS = [
    RouteDecision("/x", "/*", "app-alb", "alb", "/*", "api"),
    RouteDecision("/x", None, None, None, "/*", "api"),
]


@given(
    headers=st.lists(st.tuples(NAMES, VALUES), max_size=8).filter(
        lambda hs: sum(1 for n, _ in hs if n.lower() == "host") == 1
    ),
    which=st.sampled_from(DECISIONS),
)
def test_the_request_rewrite_on_bytes_is_the_text_rewrite(
    headers: list[tuple[str, str]], which: RouteDecision
) -> None:
    head = RequestHead.of(b"GET", b"/x?q", "1.1", [(n.encode(), v.encode()) for n, v in headers])
    real = edge.trace_id
    edge.trace_id = lambda now: "1-00000001-" + "0" * 24  # the same id on both sides
    try:
        got = alb_origin_head(
            head.method, head.target, head.passed_lines(), head.special,
            client_ip="9.9.9.9", decision=which, cf_id="ID", now=1.0,
        )  # fmt: skip
        want = request_head(
            "GET",
            "/x?q",
            origin_request_headers(
                head.headers, client_ip="9.9.9.9", decision=which, cf_id="ID", alb=True, now=1.0
            ),
        )
    finally:
        edge.trace_id = real
    if got is None:  # a Connection header naming other headers: the text path serves it
        assert any(n.lower() == "connection" and v not in ("keep-alive", "close") for n, v in headers)
        return
    assert got + b"\r\n" == want


@given(headers=st.lists(st.tuples(NAMES, VALUES), max_size=8))
def test_the_response_rewrite_on_bytes_is_the_text_rewrite(headers: list[tuple[str, str]]) -> None:
    data = b"HTTP/1.1 200 OK\r\n" + b"".join(f"{n}: {v}\r\n".encode() for n, v in headers) + b"\r\n"
    seen = read_response(data)
    head = seen.events[0][1]
    got = edge_response_head(200, b"OK", head.passed_lines(), head.special, cf_id="ID")
    framing = {"content-length", "transfer-encoding", "connection", "keep-alive"}
    text = [
        (n, v) for n, v in edge_response_headers(head.text_headers(), cf_id="ID") if n.lower() not in framing
    ]
    if got is None:
        assert any(n.lower() == "connection" and v not in ("keep-alive", "close") for n, v in headers)
        return
    assert got + b"\r\n" == response_head(200, "OK", text)


@pytest.mark.parametrize(("extra", "refused"), [(0, False), (1, True)])
def test_cloudfronts_head_quota_counts_every_byte_of_the_head(extra: int, refused: bool) -> None:
    start = b"GET / HTTP/1.1\r\n" + H + b"X: "
    data = start + b"v" * (20480 - len(start) - 4 + extra) + b"\r\n\r\n"
    assert len(data) == 20480 + extra
    seen = read_request(data)
    assert seen.kinds() == (["refuse"] if refused else ["request", "end"])


def test_a_response_head_gives_every_line_back_in_its_order() -> None:
    seen = read_response(
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nA: 1\r\nContent-Length: 2\r\nVia: x\r\n"
        b"B: 2\r\nKeep-Alive: timeout=5\r\n\r\nok"
    )
    head = seen.events[0][1]
    assert head.passed_lines() == [b"A: 1\r\n", b"B: 2\r\n"]
    assert head.text_headers() == [
        ("Connection", "keep-alive"),
        ("A", "1"),
        ("Content-Length", "2"),
        ("Via", "x"),
        ("B", "2"),
        ("Keep-Alive", "timeout=5"),
    ]

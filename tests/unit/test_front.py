"""The lean front: plain HTTP/1.1 Fargate requests relayed at the socket level,
everything else tunnelled to the full gateway -- with the same answers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import types
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aws.routing import Router
from gateway.config import load_config
from gateway.front import ChunkedEnd, parse_request_head
from gateway.server import Gateway, Routes
from tests.projects import make_project

# the head parser: only what the fast path handles exactly


def test_a_plain_get_is_handled_by_the_front() -> None:
    head = parse_request_head(b"GET /api/x?a=1 HTTP/1.1\r\nHost: localhost:3000\r\nAccept: */*")
    assert head is not None
    assert (head.method, head.target, head.body_length, head.close) == ("GET", "/api/x?a=1", 0, False)
    assert head.headers == [("Host", "localhost:3000"), ("Accept", "*/*")]


def test_a_sized_body_and_connection_close_are_read() -> None:
    head = parse_request_head(b"POST /a HTTP/1.1\r\nContent-Length: 12\r\nConnection: close")
    assert head is not None and head.body_length == 12 and head.close


@pytest.mark.parametrize(
    "head",
    [
        b"GET /a HTTP/1.0\r\nHost: x",
        b"HEAD /a HTTP/1.1\r\nHost: x",
        b"CONNECT x:443 HTTP/1.1\r\nHost: x",
        b"GET http://x/a HTTP/1.1\r\nHost: x",
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket",
        b"POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3",
        b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4",
        b"POST /a HTTP/1.1\r\nContent-Length: -3",
        b"GET /a HTTP/1.1\r\nX-Folded: a\r\n b",
        b"GET /a HTTP/1.1\r\nBad Header : x",
        b"GET /a HTTP/1.1\r\nNoColon",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x",
    ],
)
def test_anything_unusual_goes_to_the_full_gateway(head: bytes) -> None:
    assert parse_request_head(head) is None


# the end of a chunked body, however the bytes are split


CHUNKED = b"5\r\nhello\r\n1;ext=1\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n"


@given(st.lists(st.integers(min_value=1, max_value=len(CHUNKED)), max_size=8))
def test_the_end_of_a_chunked_body_is_found_across_any_split(cuts: list[int]) -> None:
    bounds = sorted({0, *cuts, len(CHUNKED)})
    scanner = ChunkedEnd()
    ends = [scanner.feed(CHUNKED[a:b]) for a, b in itertools.pairwise(bounds)]
    assert ends[:-1] == [-1] * (len(ends) - 1)
    assert bounds[-2] + ends[-1] == len(CHUNKED)


def test_bytes_after_a_chunked_body_are_not_part_of_it() -> None:
    assert ChunkedEnd().feed(b"0\r\n\r\nHTTP/1.1 200 OK") == 5


# the front in front of a real (scripted) task


async def _task(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[dict[str, str]]
) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            lines = head.split("\r\n")
            method, target, _ = lines[0].split(" ")
            headers = {
                k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            seen.append(headers)
            path = target.split("?")[0]
            if path == "/api/chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                await writer.drain()
                await asyncio.sleep(0.4)
                writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
            elif path == "/api/until-close":
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
                await writer.drain()
                writer.close()
                return
            elif path == "/api/cut":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
                await writer.drain()
                writer.close()
                return
            elif path == "/api/hang-up":
                writer.close()
                return
            elif path == "/api/no-content":
                writer.write(b"HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n")
            else:
                reply = json.dumps(
                    {"method": method, "target": target, "body": len(body), "headers": headers}
                )
                data = reply.encode()
                writer.write(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                    b"Keep-Alive: timeout=5\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(data), b"" if method == "HEAD" else data)
                )
            await writer.drain()
    writer.close()


class _Service:
    """Stands in for a FargateService whose one task is healthy."""

    inflight = 0

    def __init__(self, address: tuple[str, int] | None) -> None:
        self.address = address
        self.container = types.SimpleNamespace(name="api")

    def ready_target(self) -> tuple[str, int] | None:
        return self.address

    async def target(self) -> tuple[str, int]:
        assert self.address is not None
        return self.address


CONFIG = """
name: front
deployment: {type: aws@1.0}
containers:
  api:
    src: ./api
    routing: {pathPattern: /api/*}
    compute: {type: awsFargateEcs}
  down:
    src: ./api
    routing: {pathPattern: /down/*}
    compute: {type: awsFargateEcs}
"""


@contextlib.asynccontextmanager
async def _front(tmp_path: Path) -> AsyncIterator[tuple[Gateway, list[dict[str, str]], list[int], list[str]]]:
    seen: list[dict[str, str]] = []
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await _task(reader, writer, seen)

    task_server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    address = ("127.0.0.1", task_server.sockets[0].getsockname()[1])
    config = load_config(make_project(tmp_path, CONFIG), environ={})
    log: list[str] = []
    services = {"api": _Service(address)}
    gateway = Gateway(
        Routes(config, Router.from_config(config), {}, {}, {"down": "failed to build"}, services),  # type: ignore[arg-type]
        log.append,
    )
    await gateway.start("127.0.0.1", 0)
    try:
        yield gateway, seen, connections, log
    finally:
        await gateway.stop()
        task_server.close()
        await task_server.wait_closed()


async def _exchange(port: int, raw: bytes, until: bytes | None = None, reads: int = 1) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    got = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 3)
            if not chunk:
                break
            got += chunk
            if until is not None and got.count(until) >= reads:
                break
    finally:
        writer.close()
    return got


async def test_a_fargate_request_carries_the_cloudfront_and_alb_headers(tmp_path: Path) -> None:
    async with (
        _front(tmp_path) as (gateway, seen, _, log),
        aiohttp.ClientSession() as http,
        http.get(
            f"http://127.0.0.1:{gateway.port}/api/items?q=1", headers={"X-Forwarded-For": "9.9.9.9"}
        ) as r,
    ):
        assert r.status == 201
        body = await r.json()
        assert r.headers["x-cache"] == "Miss from cloudfront"
        assert r.headers["via"].endswith("(CloudFront)")
        assert "keep-alive" not in r.headers
        assert r.headers["x-amz-cf-id"] == body["headers"]["x-amz-cf-id"]
    sent = seen[0]
    assert body["target"] == "/api/items?q=1"
    assert sent["x-origin-type"] == "alb" and sent["x-origin-id"] == "front-dev-alb-origin"
    assert sent["x-forwarded-host"] == f"127.0.0.1:{gateway.port}"
    assert sent["x-forwarded-for"] == "9.9.9.9, 127.0.0.1, 127.0.0.1"
    assert sent["x-forwarded-proto"] == "http" and sent["x-forwarded-port"] == "80"
    assert sent["x-amzn-trace-id"].startswith("Root=1-")
    assert any(line.startswith("GET /api/items?q=1 -> api 201") for line in log)


async def test_keep_alive_reuses_one_connection_to_the_task(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, connections, _), aiohttp.ClientSession() as http:
        for _ in range(5):
            async with http.get(f"http://127.0.0.1:{gateway.port}/api/a") as r:
                assert r.status == 201
        assert len(connections) == 1


async def test_pipelined_requests_are_answered_in_order(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, _, _):
        raw = b"".join(b"GET /api/n%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % n for n in range(3))
        got = await _exchange(gateway.port, raw, until=b"HTTP/1.1 201", reads=3)
        assert [got.find(b'"/api/n%d"' % n) for n in range(3)] == sorted(
            got.find(b'"/api/n%d"' % n) for n in range(3)
        )
        assert got.count(b"HTTP/1.1 201") == 3


async def test_a_request_body_arrives_whole(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    async with _front(tmp_path) as (gateway, _, _, _), aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{gateway.port}/api/upload"
        async with http.post(url, data=payload) as r:
            body = await r.json()
    assert body["body"] == len(payload)


async def test_a_chunked_response_streams_as_it_is_produced(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, _, _), aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/chunked") as r:
            loop = asyncio.get_running_loop()
            started = loop.time()
            first = await r.content.readany()
            first_at = loop.time() - started
            rest = await r.content.read()
            assert first == b"first" and first_at < 0.3
            assert rest == b"second"
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/x") as r:  # the connection is fine after
            assert r.status == 201


async def test_a_response_ended_by_closing_is_reframed_for_the_viewer(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, _, _), aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/until-close") as r:
            assert r.headers["transfer-encoding"] == "chunked"
            assert await r.read() == b"all of it"
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/no-content") as r:
            assert r.status == 204 and r.headers["x-empty"] == "yes"


async def test_a_task_that_hangs_up_gets_the_albs_502(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, _, _), aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/hang-up") as r:
            assert r.status == 502
            assert r.headers["server"] == "awselb/2.0"
            assert r.headers["x-cache"] == "Error from cloudfront"
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/ok") as r:
            assert r.status == 201


async def test_a_response_cut_short_is_cut_short_for_the_viewer(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, _, _), aiohttp.ClientSession() as http:
        response = await http.get(f"http://127.0.0.1:{gateway.port}/api/cut")
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
        response.release()


async def test_a_keep_alive_connection_the_task_closed_is_replaced_unseen(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, connections, _), aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/a") as r:
            assert r.status == 201
        assert gateway.front is not None
        for idle in gateway.front.pool._idle.values():
            for origin in idle:  # the task restarts: its end of the pooled connection goes
                assert origin.transport is not None
                origin.transport.get_extra_info("socket").shutdown(0)
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/b") as r:
            assert r.status == 201
        assert len(connections) == 2


async def test_other_requests_on_the_same_connection_get_the_full_gateway(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, seen, _, _log):
        raw = (
            b"GET /api/one HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /down/x HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"HEAD /api/two HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        got = await _exchange(gateway.port, raw, until=b"HTTP/1.1 ", reads=4)
        statuses = re.findall(rb"HTTP/1.1 (\d+) ", got)
        assert statuses == [b"201", b"503", b"201", b"404"]
        assert b"scf-local: down failed to build" in got
        assert len(seen) == 2  # the HEAD went through the gateway to the task
        assert seen[1]["x-forwarded-for"] == "127.0.0.1, 127.0.0.1"  # the viewer's address, not the tunnel's


async def test_a_task_that_refuses_connections_gets_the_albs_502(tmp_path: Path) -> None:
    async with _front(tmp_path) as (gateway, _, _, _), aiohttp.ClientSession() as http:
        free = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = free.sockets[0].getsockname()[1]
        free.close()
        await free.wait_closed()
        gateway.routes.services["api"].address = ("127.0.0.1", port)  # type: ignore[attr-defined]
        async with http.get(f"http://127.0.0.1:{gateway.port}/api/x") as r:
            assert r.status == 502

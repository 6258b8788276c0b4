"""The HTTP engine: one listener, every route, requests framed once by llhttp.

These tests speak to a real gateway on loopback, with a scripted task and an
in-process function as origins (tests/wire.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway.http.routes import Timeouts
from gateway.logs import Console
from runners.base import DevServer
from tests.wire import raw_exchange, serving, statuses

GET = b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n"

# --- the request a task receives -------------------------------------------------


async def test_a_fargate_request_carries_the_cloudfront_and_alb_headers(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{stack.port}/api/items?q=1"
        async with http.get(url, headers={"X-Forwarded-For": "9.9.9.9"}) as r:
            assert r.status == 201
            body = await r.json()
            assert r.headers["x-cache"] == "Miss from cloudfront"
            assert r.headers["via"].endswith("(CloudFront)")
            assert "keep-alive" not in r.headers
            assert r.headers["x-amz-cf-id"] == body["headers"]["x-amz-cf-id"]
    sent = stack.task.requests[0].headers
    assert body["target"] == "/api/items?q=1"
    assert sent["x-origin-type"] == "alb" and sent["x-origin-id"] == "wire-dev-alb-origin"
    assert sent["x-forwarded-host"] == f"127.0.0.1:{stack.port}"
    assert sent["x-forwarded-for"] == "9.9.9.9, 127.0.0.1, 127.0.0.1"
    assert sent["x-forwarded-proto"] == "http" and sent["x-forwarded-port"] == "80"
    assert sent["x-amzn-trace-id"].startswith("Root=1-")
    assert any(line.startswith("GET /api/items?q=1 -> api 201") for line in stack.log)


async def test_connection_cannot_remove_the_framing_host_or_edge_headers(tmp_path: Path) -> None:
    raw = (
        b"POST /api/a HTTP/1.1\r\nHost: localhost\r\n"
        b"Connection: content-length, host, x-forwarded-for, x-amz-cf-id, x-custom\r\n"
        b"X-Custom: dropped\r\nContent-Length: 4\r\n\r\nbody"
    )
    async with serving(tmp_path) as stack:
        got = await raw_exchange(stack.port, raw, until=b"}")
        assert statuses(got) == [201]
    seen = stack.task.requests[0]
    assert seen.body == b"body" and seen.headers["content-length"] == "4"
    assert seen.headers["host"] == "localhost" and "x-amz-cf-id" in seen.headers
    assert "x-custom" not in seen.headers and "connection" not in seen.headers


async def test_a_lambda_route_gets_a_function_url_event(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{stack.port}/fn/x?a=1", data="hi") as r:
            assert r.status == 200 and await r.json() == {"path": "/fn/x", "method": "POST"}
            assert "x-amzn-RequestId" in r.headers and r.headers["x-cache"] == "Miss from cloudfront"
    event = stack.function.events[0]
    assert event["rawQueryString"] == "a=1" and event["body"] == "hi"
    assert event["headers"]["x-origin-type"] == "lambda"


async def test_json_logs_give_each_access_line_its_facts_as_fields(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(out, json_lines=True)
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        stack.gateway.access_log = lambda ex: console.say("gateway", ex.access_line(), ex.access_fields())
        async with http.get(f"http://127.0.0.1:{stack.port}/fn/x") as r:
            assert r.status == 200
        async with http.get(f"http://127.0.0.1:{stack.port}/api/a?q=1") as r:
            assert r.status == 201
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    fn, api = (line["fields"] for line in lines)
    assert lines[0]["message"].startswith("GET /fn/x -> fn 200")
    assert {k: fn[k] for k in ("method", "target", "container", "status")} == {
        "method": "GET",
        "target": "/fn/x",
        "container": "fn",
        "status": 200,
    }
    assert api["target"] == "/api/a?q=1" and api["status"] == 201 and api["container"] == "api"
    assert all(isinstance(f["durationMs"], float) for f in (fn, api))


# --- connections -----------------------------------------------------------------


async def test_keep_alive_reuses_one_connection_to_the_task(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        for _ in range(5):
            async with http.get(f"http://127.0.0.1:{stack.port}/api/a") as r:
                assert r.status == 201
        assert stack.task.connections == 1


async def test_pipelined_get_head_chunked_post_and_lambda_get_are_answered_in_order(tmp_path: Path) -> None:
    raw = (
        b"GET /api/one HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"HEAD /api/two HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"POST /api/three HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n4;x=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n"
        b"GET /fn/four HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    async with serving(tmp_path) as stack:
        got = await raw_exchange(stack.port, raw, until=b'"method": "GET"}', count=1, timeout=5)
    heads = got.split(b"HTTP/1.1 ")[1:]
    assert [h[:3] for h in heads] == [b"201", b"201", b"201", b"200"]
    assert b'"target": "/api/one"' in heads[0]
    assert heads[1].endswith(b"\r\n\r\n")  # HEAD: the head only
    assert b'"target": "/api/three"' in heads[2] and b'"body": 7' in heads[2]
    assert b'"path": "/fn/four"' in heads[3]
    assert [(s.method, s.target, s.body) for s in stack.task.requests] == [
        ("GET", "/api/one", b""),
        ("HEAD", "/api/two", b""),
        ("POST", "/api/three", b"abcdefg"),
    ]


async def test_a_chunked_upload_is_streamed_to_the_task_rechunked(tmp_path: Path) -> None:
    async def upload():  # type: ignore[no-untyped-def]
        for n in range(50):
            yield b"%05d" % n

    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{stack.port}/api/up", data=upload()) as r:
            assert (await r.json())["body"] == 250
    assert stack.task.requests[0].headers["transfer-encoding"] == "chunked"


async def test_a_request_body_arrives_whole(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{stack.port}/api/upload", data=payload) as r:
            assert (await r.json())["body"] == len(payload)
    assert stack.task.requests[0].body == payload


async def test_expect_100_continue_is_answered_before_the_body(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        writer.write(
            b"POST /api/e HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        final = await asyncio.wait_for(reader.readuntil(b"}"), 5)
        writer.close()
    assert statuses(final) == [201]
    assert stack.task.requests[0].body == b"hello" and "expect" not in stack.task.requests[0].headers


async def test_http_1_0_gets_a_sized_or_close_delimited_answer(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        got = await raw_exchange(stack.port, b"GET /api/x HTTP/1.0\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 201") and b"content-length:" in got.lower()
        got = await raw_exchange(stack.port, b"GET /api/until-close HTTP/1.0\r\nHost: a\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"\r\n\r\nall of it")
        assert b"chunked" not in got


async def test_a_websocket_upgrade_becomes_a_byte_tunnel(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        writer.write(
            b"GET /api/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nearly"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 ") and b"upgrade: websocket" in head.lower()
        assert await asyncio.wait_for(reader.readexactly(10), 5) == b"helloearly"
        writer.write(b"GET / HTTP/1.1\r\n\r\n")  # no longer HTTP: echoed, never parsed
        assert await asyncio.wait_for(reader.readexactly(18), 5) == b"GET / HTTP/1.1\r\n\r\n"
        writer.close()
    sent = stack.task.requests[0].headers
    assert sent["upgrade"] == "websocket" and sent["sec-websocket-key"] == "dGhlIHNhbXBsZSBub25jZQ=="
    assert len(stack.task.requests) == 1


UPGRADE = (
    b"Host: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /fn/?token=abc HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Protocol: vite-hmr\r\n\r\n",
        b"GET /fn/_next/webpack-hmr HTTP/1.1\r\n" + UPGRADE + b"\r\n",  # a Next.js app under basePath /fn
    ],
    ids=["vite", "next"],
)
async def test_a_dev_servers_live_reload_socket_passes_on_a_lambda_route(
    tmp_path: Path, request_head: bytes
) -> None:
    async with serving(tmp_path) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        writer.write(request_head)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
        async with aiohttp.ClientSession() as http:  # the function keeps serving meanwhile
            async with http.get(f"http://127.0.0.1:{stack.port}/fn/page") as r:
                assert r.status == 200
        writer.write(b"ping")  # still open, still the dev server's
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
        writer.close()
    assert stack.function.inflight == 0 and stack.function.devs[0].inflight == 0
    assert [e["rawPath"] for e in stack.function.events] == ["/fn/page"]  # never an invoke


@contextlib.asynccontextmanager
async def token_checking_dev_server(token: str) -> AsyncIterator[tuple[DevServer, list[str]]]:
    """A dev server as Vite >= 6.0.9 is: a socket without its own client's token gets 400."""
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        seen.append(head.split(" ")[1])
        if f"token={token} " not in head:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
            writer.close()
            return
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        writer.write(token.encode())
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(100):
                writer.write(data)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield DevServer(("127.0.0.1", server.sockets[0].getsockname()[1])), seen
    finally:
        server.close()


async def test_a_live_reload_socket_finds_the_environment_whose_dev_server_served_its_page(
    tmp_path: Path,
) -> None:
    """Each environment's dev server has a token of its own: the socket is offered to each in
    turn until one switches protocols; a refusal never reaches the page."""
    async with (
        serving(tmp_path) as stack,
        token_checking_dev_server("one") as (one, seen_one),
        token_checking_dev_server("two") as (two, seen_two),
        token_checking_dev_server("three") as (three, seen_three),
    ):
        stack.function.devs = [one, two, three]
        for token in ("three", "two", "one", "three"):
            reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
            writer.write(
                f"GET /fn/?token={token} HTTP/1.1\r\n".encode()
                + UPGRADE
                + b"Sec-WebSocket-Protocol: vite-hmr\r\n\r\n"
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 101 ")
            assert await asyncio.wait_for(reader.readexactly(len(token)), 5) == token.encode()
            writer.write(b"ping")
            assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
            writer.close()
        assert stack.function.tokens == ["three", "two", "one", "three"]
        assert len(seen_one) == 4 and len(seen_two) == 3 and len(seen_three) == 2
        # every socket that was refused went on; none of it reached a function invoke
        assert stack.function.events == [] and one.inflight == two.inflight == three.inflight == 0
        # refused by all: the last refusal is the page's answer (its client falls back as it does)
        got = await raw_exchange(
            stack.port,
            b"GET /fn/?token=nobody HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Protocol: vite-hmr\r\n\r\n",
        )
        assert got.startswith(b"HTTP/1.1 400 ")


async def test_any_other_upgrade_on_a_lambda_route_gets_what_a_function_url_answers(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        got = await raw_exchange(
            stack.port, b"GET /fn/ HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Protocol: chat\r\n\r\n"
        )
        assert got.startswith(b"HTTP/1.1 200 ")  # the function's answer, not a 101
        assert [e["rawPath"] for e in stack.function.events] == ["/fn/"]
        stack.function.devs = []  # a handler, no dev server: even Vite's socket is an invoke
        got = await raw_exchange(
            stack.port, b"GET /fn/ HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Protocol: vite-hmr\r\n\r\n"
        )
        assert got.startswith(b"HTTP/1.1 200 ") and len(stack.function.events) == 2


# --- responses -------------------------------------------------------------------


async def test_a_chunked_response_streams_as_it_is_produced(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/chunked") as r:
            assert await r.content.readany() == b"first"  # while the task still holds "second"
            stack.task.release.set()
            assert await r.content.read() == b"second"
        async with http.get(f"http://127.0.0.1:{stack.port}/api/x") as r:  # the connection is fine after
            assert r.status == 201


async def test_a_response_ended_by_closing_is_reframed_for_the_viewer(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/until-close") as r:
            assert r.headers["transfer-encoding"] == "chunked"
            assert await r.read() == b"all of it"
        async with http.get(f"http://127.0.0.1:{stack.port}/api/no-content") as r:
            assert r.status == 204 and r.headers["x-empty"] == "yes"


async def test_a_task_that_hangs_up_gets_the_albs_502(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/hang-up") as r:
            assert r.status == 502
            assert r.headers["server"] == "awselb/2.0"
            assert r.headers["x-cache"] == "Error from cloudfront"
        async with http.get(f"http://127.0.0.1:{stack.port}/api/ok") as r:
            assert r.status == 201


async def test_a_response_cut_short_is_cut_short_for_the_viewer(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        response = await http.get(f"http://127.0.0.1:{stack.port}/api/cut")
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
        response.release()


async def _close_pooled(stack) -> None:  # type: ignore[no-untyped-def]
    """The task restarts: its end of every pooled connection goes."""
    for writer in stack.task.writers:
        writer.close()
    for idle in stack.gateway.idle._idle.values():
        for origin in idle:
            while not origin.closed:
                await asyncio.sleep(0.01)


async def test_a_get_on_a_pooled_connection_the_task_closed_is_sent_again_unseen(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/a") as r:
            assert r.status == 201
        for idle in stack.gateway.idle._idle.values():
            for origin in idle:
                origin.closed = False  # as if the close had not been noticed yet
                origin.transport.get_extra_info("socket").shutdown(0)  # type: ignore[union-attr]
        async with http.get(f"http://127.0.0.1:{stack.port}/api/b") as r:
            assert r.status == 201
        assert stack.task.connections == 2


async def test_a_post_is_never_sent_twice(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/a") as r:
            assert r.status == 201
        pooled = [origin for idle in stack.gateway.idle._idle.values() for origin in idle]
        stack.gateway.idle.keepalive = 3600
        for origin in pooled:  # the pooled connection dies the moment the POST is written to it
            origin.transport.write = lambda data, o=origin: o.transport.abort()  # type: ignore[method-assign,union-attr]
        async with http.post(f"http://127.0.0.1:{stack.port}/api/p", data=b"x") as r:
            assert r.status == 502
    assert [s.method for s in stack.task.requests] == ["GET"]


async def test_a_task_that_refuses_connections_gets_the_albs_502(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        free = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = free.sockets[0].getsockname()[1]
        free.close()
        await free.wait_closed()
        stack.gateway.routes.services["api"].address = ("127.0.0.1", port)  # type: ignore[attr-defined]
        async with http.get(f"http://127.0.0.1:{stack.port}/api/x") as r:
            assert r.status == 502 and r.headers["server"] == "awselb/2.0"


async def test_a_silent_task_gets_the_albs_504_after_the_idle_timeout(tmp_path: Path) -> None:
    timeouts = Timeouts(alb_idle=0.2, sweep_every=0.05)
    async with serving(tmp_path, timeouts) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/silent") as r:
            assert r.status == 504 and r.headers["server"] == "awselb/2.0"


async def test_a_task_silent_past_cloudfronts_origin_timeout_gets_cloudfronts_504(tmp_path: Path) -> None:
    timeouts = Timeouts(origin_read=0.2, sweep_every=0.05)  # CloudFront's 30 s comes before the ALB's 60 s
    async with serving(tmp_path, timeouts) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/silent") as r:
            assert r.status == 504 and r.headers["server"] == "CloudFront"
    assert any("origin response timeout" in line for line in stack.log)


async def test_an_upload_longer_than_the_idle_timeout_is_no_504(tmp_path: Path) -> None:
    timeouts = Timeouts(alb_idle=0.3, origin_read=0.3, sweep_every=0.05)

    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(10):  # 1 s of upload: bytes keep going to the task, the ALB is not idle
            yield b"x" * 100
            await asyncio.sleep(0.1)

    async with serving(tmp_path, timeouts) as stack, aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{stack.port}/api/upload", data=slowly()) as r:
            assert r.status == 201, await r.text()
    assert stack.task.requests[0].body == b"x" * 1000


async def test_an_upgrade_leaves_the_connection_pool_as_it_was(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stack.port}/api/x") as r:
            assert r.status == 201  # one pooled connection to the task now
        got = await raw_exchange(stack.port, b"GET /api/ws HTTP/1.1\r\n" + UPGRADE + b"\r\n", until=b"hello")
        assert got.startswith(b"HTTP/1.1 101 ")
        assert stack.task.connections == 2  # the tunnel had its own
        async with http.get(f"http://127.0.0.1:{stack.port}/api/y") as r:
            assert r.status == 201
        assert stack.task.connections == 2  # the pooled one was still there, and reused


async def test_a_viewer_that_goes_away_leaves_an_access_line(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        _, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        writer.write(b"GET /api/silent HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        while not stack.task.requests:
            await asyncio.sleep(0.01)
        writer.close()
        for _ in range(100):
            if any("GET /api/silent -> api 499" in line for line in stack.log):
                break
            await asyncio.sleep(0.02)
    assert any("GET /api/silent -> api 499" in line and "the viewer went away" in line for line in stack.log)


async def test_a_request_to_a_starting_service_waits_for_its_health(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        pending = asyncio.ensure_future(http.get(f"http://127.0.0.1:{stack.port}/slow/x"))
        while not any("slow" in repr(t) for t in asyncio.all_tasks()) and not pending.done():
            await asyncio.sleep(0.01)
        stack.slow.ready()
        async with await pending as r:
            assert r.status == 201 and (await r.json())["target"] == "/slow/x"


async def test_no_route_and_a_failed_container_answer_in_turn(tmp_path: Path) -> None:
    raw = GET % b"/down/x" + GET % b"/nowhere" + GET % b"/api/ok"
    async with serving(tmp_path) as stack:
        got = await raw_exchange(stack.port, raw, until=b"}")
    assert statuses(got) == [503, 404, 201]
    assert b"scf-local: down did not build" in got


# --- timeouts on viewers ---------------------------------------------------------


async def test_a_head_that_never_finishes_gets_408_and_a_closed_connection(tmp_path: Path) -> None:
    timeouts = Timeouts(viewer_head=0.2, sweep_every=0.05)
    async with serving(tmp_path, timeouts) as stack:
        got = await raw_exchange(stack.port, b"GET /api/x HTTP/1.1\r\nHost: loc")
    assert statuses(got) == [408] and b"Generated by cloudfront" in got


async def test_half_sent_requests_do_not_slow_another_client(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        idle = []
        for _ in range(200):
            _, writer = await asyncio.open_connection("127.0.0.1", stack.port)
            writer.write(b"GET /api/x HTTP/1.1\r\nHo")
            idle.append(writer)
        for _ in range(20):
            async with http.get(f"http://127.0.0.1:{stack.port}/api/x") as r:
                assert r.status == 201
        for writer in idle:
            writer.close()


async def test_the_body_of_a_large_lambda_request_is_refused_before_invoking(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{stack.port}/fn/big", data=io.BytesIO(b"x" * 6_300_000)) as r:
            assert r.status == 413
            assert json.loads(await r.read())["Message"].startswith("Request must be smaller")
    assert stack.function.events == []


async def test_background_starts_wait_until_no_request_is_in_flight(tmp_path: Path) -> None:
    """A container started while a page loads would make Chromium drop its requests
    (ERR_NETWORK_CHANGED): what scf-local starts in the background waits for a quiet moment."""
    async with serving(tmp_path) as stack, aiohttp.ClientSession() as http:
        gateway = stack.gateway
        await asyncio.wait_for(gateway.quiet(0.05), 1)  # nothing in flight: at once
        browser = {"sec-fetch-mode": "no-cors"}  # only a browser's requests hold starts up
        async with http.get(f"http://127.0.0.1:{stack.port}/api/x"):
            assert not gateway.busy()
        await asyncio.wait_for(gateway.quiet(0.05), 1)
        async with http.get(f"http://127.0.0.1:{stack.port}/api/chunked", headers=browser) as response:
            assert await response.content.readexactly(5) == b"first"  # in flight until released
            waiting = asyncio.ensure_future(gateway.quiet(0.05, limit=5))
            await asyncio.sleep(0.3)
            assert gateway.busy() and not waiting.done()
            stack.task.release.set()
            assert await response.read() == b"second"
        await asyncio.wait_for(waiting, 2)
        assert not gateway.busy()
        await asyncio.wait_for(gateway.quiet(10, limit=0.2), 1)  # never longer than its limit

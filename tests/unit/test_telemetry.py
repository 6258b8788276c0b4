"""Lambda's Telemetry API and Logs API: subscriptions read as Lambda validates them, events in
each API's schema, batches as the subscription asks, delivered to a listener over HTTP or TCP.

The end-to-end tests run scf-local's Runtime API on loopback with an extension's calls made
by hand; the same with real containers is ``tests/integration/test_telemetry_api.py``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.aws.function_url import Outcome
from gateway.aws.telemetry import (
    Buffer,
    Buffering,
    Event,
    SubscriptionError,
    encode,
    parse_subscription,
    report,
    start,
)
from gateway.http.runtime_api import RuntimeApi
from gateway.http.telemetry_sender import DeliveryFailed, TelemetrySender
from runners.awslambda.sandbox import Identity, Invoke, Sandbox
from runners.awslambda.telemetry import Telemetry


class Calls:
    """A destination made of a function (the listener, as a test plays it)."""

    def __init__(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        self.send = send

    def close(self) -> None:
        pass


HTTP = {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/t"}


def body(**fields: Any) -> bytes:
    value = {"schemaVersion": "2022-12-13", "types": ["platform", "function"], "destination": HTTP, **fields}
    return json.dumps({k: v for k, v in value.items() if v is not None}).encode()


def test_a_subscription_gets_lambdas_defaults_per_api() -> None:
    telemetry = parse_subscription("telemetry", body())
    assert telemetry.buffering == Buffering(1000, 262144, 1000)
    assert (telemetry.protocol, telemetry.port, telemetry.path) == ("HTTP", 4243, "/t")
    logs = parse_subscription("logs", body(schemaVersion=None))
    assert logs.buffering.max_items == 10000  # the Logs API's own default


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"schemaVersion": "2020-01-01"}, "schemaVersion must be one of"),
        ({"types": []}, "types must be"),
        ({"types": ["platform", "everything"]}, "types must be"),
        ({"buffering": {"timeoutMs": 24}}, "buffering.timeoutMs must be an integer from 25 to 30000"),
        ({"buffering": {"maxItems": 999}}, "buffering.maxItems must be an integer from 1000 to 10000"),
        ({"buffering": {"maxBytes": 2_000_000}}, "buffering.maxBytes"),
        ({"buffering": {"maxItems": True}}, "buffering.maxItems"),
        ({"destination": {"protocol": "UDP", "URI": "udp://sandbox:1"}}, 'protocol must be "HTTP" or "TCP"'),
        ({"destination": {"protocol": "HTTP", "URI": "http://example.com:80/"}}, "sandbox.localdomain"),
        (
            {"destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain/"}},
            "sandbox.localdomain:<port>",
        ),
        ({"destination": {"protocol": "TCP", "URI": "http://sandbox:4243"}}, "tcp://sandbox.localdomain"),
    ],
)
def test_a_subscription_lambda_refuses_is_a_validation_error_saying_why(
    fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(SubscriptionError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_subscription("telemetry", body(**fields))


def test_tcp_destinations_by_uri_or_port() -> None:
    tcp = {"protocol": "TCP", "URI": "tcp://sandbox:4244"}
    by_uri = parse_subscription("logs", body(schemaVersion="2021-03-18", destination=tcp))
    by_port = parse_subscription("telemetry", body(destination={"protocol": "TCP", "port": 4244}))
    assert (by_uri.protocol, by_uri.port) == (by_port.protocol, by_port.port) == ("TCP", 4244)


def test_a_buffer_is_full_at_max_items_or_max_bytes() -> None:
    buffer = Buffer(Buffering(max_items=2, max_bytes=1000))
    assert not buffer.add(b"x")
    assert buffer.add(b"y")
    assert buffer.take() == [b"x", b"y"] and buffer.size == 0
    assert Buffer(Buffering(max_items=1000, max_bytes=10)).add(b"x" * 10)


def test_each_api_gets_its_own_schema() -> None:
    started = Event("platform.start", start("r1", "$LATEST", "Root=1-a"), 0.5)
    assert json.loads(encode(started, "telemetry") or b"") == {
        "time": "1970-01-01T00:00:00.500Z",
        "type": "platform.start",
        "record": {
            "requestId": "r1",
            "version": "$LATEST",
            "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-a"},
        },
    }
    assert json.loads(encode(started, "logs") or b"")["record"] == {"requestId": "r1", "version": "$LATEST"}
    reported = Event("platform.report", report("r1", "success", 1.2345, 128, 40, "Root=1-a", 100.0), 0)
    metrics = json.loads(encode(reported, "telemetry") or b"")["record"]["metrics"]
    assert metrics == {
        "durationMs": 1.234 if metrics["durationMs"] == 1.234 else 1.235,
        "billedDurationMs": 2,
        "memorySizeMB": 128,
        "maxMemoryUsedMB": 40,
        "initDurationMs": 100.0,
    }
    assert encode(Event("platform.end", {"requestId": "r1"}, 0), "telemetry") is None
    assert encode(Event("platform.initStart", {}, 0), "logs") is None
    assert json.loads(encode(Event("function", "hello", 0), "logs") or b"")["record"] == "hello"


async def test_events_are_sent_when_the_timeout_passes_and_late_subscribers_get_the_backlog() -> None:
    telemetry = Telemetry(lambda _: None)
    telemetry.emit("platform.initStart", {"phase": "init"})
    batches: list[list[dict[str, Any]]] = []

    async def send(data: bytes) -> None:
        batches.append(json.loads(data))

    telemetry.subscribe(
        "ext", parse_subscription("telemetry", body(buffering={"timeoutMs": 25})), Calls(send)
    )
    telemetry.line("one")
    telemetry.line("two")
    assert batches == []  # buffered for timeoutMs
    await asyncio.sleep(0.1)
    assert [[e["type"] for e in b] for b in batches] == [
        ["platform.initStart", "platform.telemetrySubscription", "function", "function"]
    ]
    assert [e["record"] for e in batches[0][2:]] == ["one", "two"]


async def test_a_listener_that_does_not_keep_up_loses_batches_not_memory() -> None:
    said: list[str] = []
    telemetry = Telemetry(said.append)
    release = asyncio.Event()
    sent: list[int] = []

    async def slow(data: bytes) -> None:
        await release.wait()
        sent.append(len(json.loads(data)))

    subscription = parse_subscription("telemetry", body(types=["function"], buffering={"maxItems": 1000}))
    telemetry.subscribe("slow", subscription, Calls(slow))
    for _ in range(3):  # three full batches: one in flight, one waiting, one dropped
        for n in range(1000):
            telemetry.line(f"line {n}")
        await asyncio.sleep(0)
    release.set()
    await telemetry.drain(1.0)
    assert sent == [1000, 1000]
    assert telemetry.subscribers[0].dropped == 1000
    assert "telemetry: slow is not keeping up; 1000 events dropped" in said


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[tuple[str, str, bytes]], dict[str, int]]]:
    """An extension's HTTP listener: records (path, content type, body); answers 500 when told."""
    received: list[tuple[str, str, bytes]] = []
    control = {"status": 200}

    async def handle(request: web.Request) -> web.Response:
        received.append((request.path, request.content_type, await request.read()))
        return web.Response(status=control["status"])

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port, received, control
    await runner.cleanup()


async def test_the_http_destination_gets_json_arrays_on_one_connection(listener: Any) -> None:
    port, received, control = listener
    connections = 0

    async def connect(to: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal connections
        connections += 1
        return await asyncio.open_connection("127.0.0.1", to)

    subscription = parse_subscription(
        "telemetry", body(destination={"protocol": "HTTP", "URI": f"http://sandbox:{port}/in"})
    )
    sender = TelemetrySender(connect, subscription)
    await sender.send(b'[{"a":1}]')
    await sender.send(b'[{"a":2}]')
    assert received == [("/in", "application/json", b'[{"a":1}]'), ("/in", "application/json", b'[{"a":2}]')]
    assert connections == 1
    control["status"] = 500
    with pytest.raises(DeliveryFailed, match="answered 500"):
        await sender.send(b"[]")
    sender.close()


async def test_the_tcp_destination_gets_one_json_object_per_line() -> None:
    lines: list[bytes] = []
    got, ended = asyncio.Event(), asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            lines.append(line)
            if len(lines) == 2:
                got.set()
        writer.close()
        await writer.wait_closed()
        ended.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    telemetry = Telemetry(lambda _: None)

    async def connect(to: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", to)

    subscription = parse_subscription(
        "logs", body(schemaVersion=None, types=["function"], destination={"protocol": "TCP", "port": port})
    )
    sender = TelemetrySender(connect, subscription)
    telemetry.subscribe("ext", subscription, sender)
    telemetry.line("a")
    telemetry.line("b")
    await telemetry.drain(1.0)
    await asyncio.wait_for(got.wait(), 2)
    assert [json.loads(line)["record"] for line in lines] == ["a", "b"]
    telemetry.close()
    await asyncio.wait_for(ended.wait(), 2)  # the listener saw the connection end
    server.close()
    await server.wait_closed()


IDENTITY = Identity(
    "app-dev-fn", "arn:aws:lambda:us-east-1:000000000000:function:app-dev-fn", "h", memory_mb=512
)


async def test_an_extension_subscribed_through_the_runtime_api_gets_each_invokes_events(
    listener: Any,
) -> None:
    port, received, _ = listener
    said: list[str] = []
    sandbox = Sandbox(IDENTITY, said.append, extensions=1)
    sandbox.peak_memory_mb = lambda: 42
    api = RuntimeApi(bind="127.0.0.1", advertise="127.0.0.1", log=lambda _: None)
    await api.start()
    address = await api.open(sandbox)
    api.allow(sandbox, "127.0.0.1")  # the listener is at the environment's address
    try:
        async with aiohttp.ClientSession(f"http://{address}") as http:
            async with http.post(
                "/2020-01-01/extension/register",
                json={"events": []},
                headers={"Lambda-Extension-Name": "probe"},
            ) as response:
                me = {"Lambda-Extension-Identifier": response.headers["Lambda-Extension-Identifier"]}
            async with http.put(
                "/2022-07-01/telemetry", data=body(), headers={"Lambda-Extension-Identifier": "nobody"}
            ) as r:
                assert r.status == 403
            async with http.put(
                "/2022-07-01/telemetry", data=body(buffering={"timeoutMs": 1}), headers=me
            ) as r:
                assert r.status == 400 and (await r.json())["errorType"] == "ValidationError"
            uri = {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}/t"}
            async with http.put(
                "/2022-07-01/telemetry", data=body(destination=uri, buffering={"timeoutMs": 25}), headers=me
            ) as r:
                assert r.status == 200 and await r.text() == '"OK"'
            reply = sandbox.invoke(Invoke("req-1", b"{}", 1_700_000_000_000, "Root=1-x"))
            async with http.get("/2018-06-01/runtime/invocation/next") as r:
                assert r.status == 200
            sandbox.telemetry.line("hello")
            async with http.post("/2018-06-01/runtime/invocation/req-1/response", data=b'"ok"') as r:
                assert r.status == 202
            assert await reply.whole() == b'"ok"'
            for _ in range(100):
                types = [e["type"] for _, _, data in received for e in json.loads(data)]
                if "platform.report" in types:
                    break
                await asyncio.sleep(0.02)
        events = {e["type"]: e["record"] for _, _, data in received for e in json.loads(data)}
        assert not [line for line in said if line.startswith("telemetry")]
        assert list(events) == [
            "platform.initStart",
            "platform.telemetrySubscription",
            "platform.initRuntimeDone",
            "platform.initReport",
            "platform.start",
            "function",
            "platform.runtimeDone",
            "platform.report",
        ]
        assert events["function"] == "hello"
        assert events["platform.runtimeDone"]["metrics"]["producedBytes"] == 4
        assert events["platform.report"]["metrics"]["memorySizeMB"] == 512
        assert events["platform.report"]["metrics"]["maxMemoryUsedMB"] == 42
        assert "initDurationMs" in events["platform.report"]["metrics"]
    finally:
        sandbox.close(Outcome("runtime-exit", b"", "Runtime.ExitError", "test over"))
        await api.stop()

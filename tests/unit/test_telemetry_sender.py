"""Telemetry batches reach listeners however they answer: HTTP/1.0 then a close (the standard
library's ``http.server``, which AWS's Python sample extension listens with), keep-alive, a
kept connection closed while idle; garbage is a counted failure, never a traceback.

The listeners here answer with raw bytes written by the test; the same with an extension in a
layer under ``up`` is ``tests/integration/test_telemetry_api.py``."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httptools
import pytest

from gateway.aws.telemetry import parse_subscription, start
from gateway.http.telemetry_sender import DeliveryFailed, TelemetrySender
from runners.awslambda.telemetry import Telemetry

HTTP_10_AS_HTTP_SERVER = b"HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6 Python/3.13\r\nDate: x\r\n\r\n"
KEEP_ALIVE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"

Answer = Callable[[int], tuple[bytes, bool]]
"""The n-th request on a connection (0-based) -> (bytes to answer, close after them)."""


class RawListener:
    """An extension's listener that answers what a test tells it, as raw bytes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.bodies: list[bytes] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawListener:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        requests: list[bytes] = []
        done: list[int] = []

        class Request:
            def on_message_begin(self) -> None:
                requests.append(b"")

            def on_body(self, data: bytes) -> None:
                requests[-1] += data

            def on_message_complete(self) -> None:
                done.append(len(requests) - 1)

        parser = httptools.HttpRequestParser(Request())
        try:
            while data := await reader.read(65536):
                parser.feed_data(data)
                while done:
                    n = done.pop(0)
                    self.bodies.append(requests[n])
                    answer, close = self.answer(n)
                    writer.write(answer)
                    await writer.drain()
                    if close:
                        return
        finally:
            writer.close()


def sender_to(port: int) -> TelemetrySender:
    subscription = parse_subscription(
        "telemetry",
        json.dumps(
            {
                "schemaVersion": "2022-12-13",
                "types": ["platform"],
                "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}"},
            }
        ).encode(),
    )

    async def connect(to: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", to)

    return TelemetrySender(connect, subscription)


BATCHES = [b'[{"n":1}]', b'[{"n":2}]', b'[{"n":3}]']


@pytest.mark.parametrize(
    ("answer", "closes", "connections"),
    [
        pytest.param(
            HTTP_10_AS_HTTP_SERVER, True, 3, id="an_http_10_answer_ends_at_the_close_each_batch_a_new_one"
        ),
        pytest.param(KEEP_ALIVE, False, 1, id="a_keep_alive_answer_keeps_one"),
    ],
)
async def test_the_batches_connections(answer: bytes, closes: bool, connections: int) -> None:
    async with RawListener(lambda n: (answer, closes)) as listener:
        sender = sender_to(listener.port)
        for batch in BATCHES:
            await sender.send(batch)
        assert listener.bodies == BATCHES
        assert listener.connections == connections
        sender.close()


async def test_a_kept_connection_the_listener_closed_while_idle_is_opened_anew() -> None:
    """A listener that says keep-alive, then closes after one answer (an idle timeout)."""
    async with RawListener(lambda n: (KEEP_ALIVE, True)) as listener:
        sender = sender_to(listener.port)
        await sender.send(BATCHES[0])
        await asyncio.sleep(0.05)  # the close arrives before the next batch
        await sender.send(BATCHES[1])
        assert listener.bodies == BATCHES[:2]
        assert listener.connections == 2
        sender.close()


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "Expected HTTP/"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "closed the connection mid-answer"),
        (b"", "closed the connection without answering"),
        (b"HTTP/1.0 503 Service Unavailable\r\n\r\nbusy", "answered 503"),
    ],
)
async def test_a_bad_answer_is_a_failed_delivery(answer: bytes, why: str) -> None:
    async with RawListener(lambda n: (answer, True)) as listener:
        sender = sender_to(listener.port)
        with pytest.raises(DeliveryFailed, match=why):
            await sender.send(BATCHES[0])
        sender.close()


async def test_garbage_is_counted_as_dropped_events_and_said_once_without_a_traceback() -> None:
    logged: list[str] = []
    telemetry = Telemetry(logged.append)
    async with RawListener(lambda n: (b"\x00\x01garbage\r\n\r\n", True)) as listener:
        sender = sender_to(listener.port)
        telemetry.subscribe("ext", sender.subscription, sender)  # "subscribed": the first event
        subscriber = telemetry.subscribers[0]
        await subscriber.drain()
        for n in range(2):
            telemetry.emit("platform.start", start(f"r{n}", "$LATEST", ""))
            await subscriber.drain()
        telemetry.close()
    assert (subscriber.delivered, subscriber.dropped) == (0, 3)
    assert not any("Traceback" in line for line in logged), logged
    said = [line for line in logged if "cannot deliver" in line]
    assert len(said) == 1 and said[0].startswith("telemetry: cannot deliver to ext: Expected HTTP/"), logged


@pytest.fixture
def python_http_server() -> Iterator[tuple[int, list[list[dict[str, object]]]]]:
    """A listener shaped as AWS's Python sample's: ``HTTPServer`` + ``BaseHTTPRequestHandler``
    reading Content-Length, ``send_response(200)``, ``end_headers()``, nothing else."""
    batches: list[list[dict[str, object]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            content = self.rfile.read(length)
            self.send_response(200)
            self.end_headers()
            batches.append(json.loads(content))

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], batches
    server.shutdown()
    server.server_close()


async def test_the_standard_librarys_http_server_gets_every_batch(
    python_http_server: tuple[int, list[list[dict[str, object]]]],
) -> None:
    port, batches = python_http_server
    sender = sender_to(port)
    for batch in BATCHES:
        await sender.send(batch)
    assert batches == [json.loads(b) for b in BATCHES]
    sender.close()

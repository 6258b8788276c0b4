"""A gateway on the real engine with scripted origins, for tests that speak raw bytes.

    async with serving(tmp_path) as stack:
        got = await raw_exchange(stack.port, b"GET /api/x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n")
        stack.task.requests     # every request the task parsed (llhttp), in order

Routes of the project: ``/api/*`` -> ``api`` (Fargate, healthy task),
``/slow/*`` -> ``slow`` (Fargate, no healthy task until ``stack.slow.ready()``),
``/fn/*`` -> ``fn`` (Lambda, an in-process function), ``/down/*`` -> ``down``
(failed to build).

The scripted task answers by path: ``/api/chunked`` streams two chunks (the
second once ``task.release`` is set), ``/api/until-close`` ends by closing,
``/api/cut`` closes mid-body, ``/api/hang-up`` closes without answering,
``/api/no-content`` is a 204, ``/api/big`` is 32 MiB written as fast as the gateway takes it, ``/api/silent`` never answers, ``/api/ws``
upgrades and echoes bytes; anything else is a 201 with a JSON echo of the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools

from gateway.aws.function_url import FunctionUrl, Outcome
from gateway.aws.routing import Router
from gateway.config import load_config
from gateway.http.routes import Routes, Timeouts
from gateway.http.server import Gateway
from runners.base import DevServer, Invocation
from tests.projects import fargate_api, lambda_web, make_project, scf_yaml

CONFIG = scf_yaml(
    *(fargate_api(name=name, src="./api", path=f"/{name}/*") for name in ("api", "slow", "down")),
    lambda_web(name="fn", src="./web", path="/fn/*"),
    name="wire",
)


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


BIG = 32 * 1024 * 1024


@dataclass
class ScriptedTask:
    """A task on loopback; requests framed by llhttp, so what it records is what it would act on."""

    requests: list[Seen] = field(default_factory=list)
    produced: int = 0
    """Bytes of ``/api/big`` written so far (each piece once the connection took the one before)."""
    connections: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        parsed: asyncio.Queue[Seen | None] = asyncio.Queue()
        collector = _Collector(parsed)
        parser = collector.parser = httptools.HttpRequestParser(collector)
        upgraded = False

        async def read() -> None:
            nonlocal upgraded
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    if upgraded:
                        writer.write(data)  # the echo after 101
                        continue
                    try:
                        parser.feed_data(data)
                    except httptools.HttpParserUpgrade:
                        upgraded = True
                    except httptools.HttpParserError:
                        break
            await parsed.put(None)

        reading = asyncio.ensure_future(read())
        try:
            while (seen := await parsed.get()) is not None:
                self.requests.append(seen)
                if not await self.answer(seen, writer):
                    return
        finally:
            reading.cancel()
            with contextlib.suppress(Exception):
                writer.close()

    async def answer(self, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        """Write the scripted answer; False when the connection ends with it."""
        path = seen.target.split("?")[0]
        if path == "/api/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            await writer.drain()
            await self.release.wait()
            writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        elif path == "/api/until-close":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
            await writer.drain()
            return False
        elif path == "/api/cut":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            await writer.drain()
            return False
        elif path == "/api/hang-up":
            return False
        elif path == "/api/silent":
            await self.stopped.wait()  # never answers; ends with the test
            return False
        elif path == "/api/big":  # BIG bytes, written as fast as the connection takes them
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG)
            piece = b"x" * 65536
            while self.produced < BIG:
                writer.write(piece)
                self.produced += len(piece)
                await writer.drain()
        elif path == "/api/no-content":
            writer.write(b"HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n")
        elif path in ("/api/ws", "/fn/", "/fn/_next/webpack-hmr"):  # a task's socket, a dev server's
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello"
            )
        else:
            reply = json.dumps(
                {
                    "method": seen.method,
                    "target": seen.target,
                    "body": len(seen.body),
                    "headers": seen.headers,
                }
            ).encode()
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                b"Keep-Alive: timeout=5\r\nContent-Length: %d\r\n\r\n%s"
                % (len(reply), b"" if seen.method == "HEAD" else reply)
            )
        await writer.drain()
        return True


class _Collector:
    def __init__(self, out: asyncio.Queue[Seen | None]) -> None:
        self.out = out
        self.parser: Any = None
        self.url = b""
        self.method = ""
        self.headers: dict[str, str] = {}
        self.body = b""
        self.in_head = True

    def on_message_begin(self) -> None:
        self.url, self.headers, self.body, self.in_head = b"", {}, b"", True

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_head:
            self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.method = self.parser.get_method().decode()

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_message_complete(self) -> None:
        self.out.put_nowait(Seen(self.method, self.url.decode("latin-1"), self.headers, self.body))


class Service:
    """Stands in for a FargateService: one task at ``address`` once ready."""

    def __init__(self, name: str, address: tuple[str, int], ready: bool = True) -> None:
        self.container = types.SimpleNamespace(name=name)
        self.address = address
        self.inflight = 0
        self._ready = asyncio.Event()
        if ready:
            self._ready.set()

    def ready(self) -> None:
        self._ready.set()

    def ready_target(self) -> tuple[str, int] | None:
        return self.address if self._ready.is_set() else None

    async def target(self, wait: float = 30.0) -> tuple[str, int]:
        await asyncio.wait_for(self._ready.wait(), wait)
        return self.address


class Function:
    """Stands in for a Lambda pool: answers each event with a JSON echo of it."""

    def __init__(self) -> None:
        self.container = types.SimpleNamespace(name="fn")
        self.inflight = 0
        self.events: list[dict[str, Any]] = []
        self.devs: list[DevServer] = []
        """Its environments' dev servers, when it is a web app with them (the scripted task)."""
        self.tokens: list[str | None] = []
        """The socket tokens it was asked for dev servers with."""

    def dev_servers(self, token: str | None) -> list[DevServer]:
        self.tokens.append(token)
        return list(self.devs)

    async def invoke(
        self, payload: bytes, request_id: str, event: dict[str, Any] | None = None
    ) -> Invocation:
        assert event is not None  # the gateway passes the event it encoded
        self.events.append(event)
        result = {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(
                {"path": event["rawPath"], "method": event["requestContext"]["http"]["method"]}
            ),
        }
        return Invocation(Outcome("success", json.dumps(result).encode()), "env#1")


@dataclass
class Stack:
    gateway: Gateway
    task: ScriptedTask
    function: Function
    slow: Service
    log: list[str]

    @property
    def port(self) -> int:
        return self.gateway.port


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, timeouts: Timeouts | None = None) -> AsyncIterator[Stack]:
    task = ScriptedTask()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await task.serve(reader, writer)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    address = ("127.0.0.1", int(server.sockets[0].getsockname()[1]))
    config = load_config(make_project(tmp_path, CONFIG), environ={})
    function = Function()
    function.devs = [DevServer(address)]
    slow = Service("slow", address, ready=False)
    log: list[str] = []
    routes = Routes(
        config,
        Router.from_config(config),
        {"fn": function},  # type: ignore[dict-item]
        {"fn": FunctionUrl.for_container("wire", "dev", "fn")},
        {"down": "did not build (fix the Dockerfile)"},
        {"api": Service("api", address), "slow": slow},  # type: ignore[dict-item]
    )
    gateway = Gateway(routes, log.append, timeouts)
    await gateway.start("127.0.0.1", 0)
    try:
        yield Stack(gateway, task, function, slow, log)
    finally:
        task.release.set()
        task.stopped.set()
        await gateway.stop()
        for writer in task.writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def raw_exchange(
    port: int, data: bytes | list[bytes], *, until: bytes | None = None, count: int = 1, timeout: float = 5.0
) -> bytes:
    """Send ``data`` (pieces written one by one) and read until ``until`` was seen ``count`` times,
    or the gateway closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for piece in [data] if isinstance(data, bytes) else data:
        writer.write(piece)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
    got = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            got += chunk
            if until is not None and got.count(until) >= count:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()
    return got


def statuses(raw: bytes) -> list[int]:
    """Status codes of the responses in ``raw``, read with llhttp."""
    found: list[int] = []

    class Collect:
        def on_headers_complete(self) -> None:
            found.append(parser.get_status_code())

    parser = httptools.HttpResponseParser(Collect())
    with contextlib.suppress(httptools.HttpParserError):
        parser.feed_data(raw)
    return found

"""A lean keep-alive client for one execution environment's RIE, framed by llhttp.

    client = RieClient("127.0.0.1", port)
    status, body = await client.post("/2015-03-31/functions/function/invocations", payload)
    client.close()

The pool sends one invoke at a time to an environment, so a client is one
connection carrying one request at a time; it reconnects when the RIE closed
it. A general HTTP client (aiohttp) costs a few hundred microseconds per
request here; this costs tens, and the warm path is measured in
``bench/lambda_invoke.py``.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools


class RieGone(ConnectionError):
    """The environment closed the connection before answering."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reply: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.keep_alive = True
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(RieGone(f"invalid response from the RIE: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(RieGone("the RIE closed the connection"))

    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        reply, self.reply = self.reply, None
        if reply is not None and not reply.done():
            reply.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    def _fail(self, exc: Exception) -> None:
        reply, self.reply = self.reply, None
        if reply is not None and not reply.done():
            reply.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RieClient:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._conn: _Connection | None = None

    async def open_at(self, host: str, port: int, timeout: float) -> None:
        """Carry the next requests over a connection to ``host:port``, opened now: the
        container's own address, while it is known to be that container's (it runs and
        answered). Once that connection closes, requests go to :attr:`host` and :attr:`port`
        again: by then the address may be another container's (an engine reuses the
        address of a container that ended), the published port never is."""
        if self._conn is not None:
            self._conn.close()
        await self._connect(host, port, timeout)

    async def _connect(self, host: str, port: int, timeout: float | None) -> _Connection:
        connecting = asyncio.get_running_loop().create_connection(_Connection, host, port)
        _, conn = await asyncio.wait_for(connecting, timeout)
        self._conn = conn
        return conn

    async def request(
        self, method: str, path: str, body: bytes = b"", timeout: float | None = None
    ) -> tuple[int, bytes]:
        """(status, body). :class:`RieGone` (or OSError) when the environment is not there;
        :class:`asyncio.TimeoutError` when it has not answered within ``timeout`` seconds
        (connecting included). The deadline is a timer on the answer, not a task wrapping
        the request: an invoke is one task, from the viewer's request to its response."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        conn = self._conn
        if conn is None or conn.closed or not conn.keep_alive:
            if conn is not None:
                conn.close()
            conn = await self._connect(self.host, self.port, timeout)
            if conn.closed:  # closed as soon as accepted (a port proxy with nobody behind it yet)
                raise RieGone("the RIE closed the connection")
        assert conn.transport is not None
        reply: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        conn.reply = reply
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        conn.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            conn.transport.write(body)
        timer = None if deadline is None else loop.call_at(deadline, _expire, reply)
        try:
            return await reply
        except BaseException:
            conn.close()  # an answer may still come: never reuse this connection
            self._conn = None
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def post(self, path: str, body: bytes, timeout: float | None = None) -> tuple[int, bytes]:
        return await self.request("POST", path, body, timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _expire(reply: asyncio.Future[tuple[int, bytes]]) -> None:
    if not reply.done():
        reply.set_exception(asyncio.TimeoutError())

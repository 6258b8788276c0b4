"""scf-local's end of the Runtime API relay, and the probe of the direct way.

    link = RelayLink("127.0.0.1", 49200, token, accept=api.accept, log=log)
    await link.start()        # a few spare connections to the relay's control port
    ...                       # each the relay pairs with a runtime's: accept(peer, transport, rest)
    await link.stop()

    probe = Probe("172.18.0.1")
    await probe.open()        # listens on a free port of that address
    reached = await probe.wait(3.0)

The relay (:mod:`runners.programs.relay`) starts each paired
connection with a PROXY protocol v1 line naming the runtime's address; that
one line is read here, strictly (the spec's 107-byte limit, every field
checked), and everything after it is HTTP for the Runtime API's own
llhttp connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
from collections.abc import Callable
from typing import Any, cast

from gateway.logs import Log
from gateway.tasks import create_task
from runners.awslambda.relay_tls import SERVER_NAME, client_context

PROXY_LINE_MAX = 107
"""The PROXY protocol v1 line's longest form, CRLF included (haproxy's proxy-protocol.txt)."""
SPARE = 4
"""Control connections kept waiting for runtimes; each one taken is replaced at once."""

Accept = Callable[[str, asyncio.Transport, bytes], None]


def parse_proxy_line(line: bytes) -> str | None:
    """The source address of a PROXY protocol v1 line (without its CRLF); None if malformed."""
    parts = line.split(b" ")
    if len(parts) != 6 or parts[0] != b"PROXY" or parts[1] not in (b"TCP4", b"TCP6"):
        return None
    try:
        source = ipaddress.ip_address(parts[2].decode("ascii"))
        ipaddress.ip_address(parts[3].decode("ascii"))
        ports = [int(p) for p in parts[4:]]
    except (UnicodeDecodeError, ValueError):
        return None
    if (source.version == 4) != (parts[1] == b"TCP4") or any(not 0 < p < 65536 for p in ports):
        return None
    if any(not p.isdigit() or (len(p) > 1 and p.startswith(b"0")) for p in parts[4:]):
        return None
    return str(source)


class _Control(asyncio.Protocol):
    """One spare connection: says the token, then waits for the relay's PROXY line."""

    def __init__(self, link: RelayLink) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.paired = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(b"SCF-RELAY " + self.link.token.encode() + b"\n")
        self.link.spares.add(self)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        end = self.buffer.find(b"\r\n")
        if end < 0:
            if len(self.buffer) >= PROXY_LINE_MAX:
                self.transport.abort()
            return
        line, rest = self.buffer[:end], self.buffer[end + 2 :]
        peer = parse_proxy_line(line) if end + 2 <= PROXY_LINE_MAX else None
        if peer is None:
            self.link.log(f"the Runtime API relay sent a malformed first line: {line[:PROXY_LINE_MAX]!r}")
            self.transport.abort()
            return
        self.paired = True
        self.link.spares.discard(self)
        self.link.replenish()
        self.link.accept(peer, self.transport, rest)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.paired:
            self.link.spares.discard(self)
            self.link.lost()


class RelayLink:
    def __init__(
        self,
        host: str,
        port: int,
        token: str,
        *,
        accept: Accept,
        log: Log,
        cert: str = "",
    ) -> None:
        """``cert``: the relay's certificate, where its control port speaks TLS (pinned: no
        other is trusted)."""
        self.host, self.port, self.token = host, port, token
        self.tls = client_context(cert) if cert else None
        self.accept = accept
        self.log = log
        self.spares: set[_Control] = set()
        self.closing = False
        self._opening: set[asyncio.Task[None]] = set()
        self._failures = 0

    async def start(self, attempts: int = 50) -> None:
        """Open the spare connections (the relay may still be starting: tried for a while)."""
        for attempt in range(attempts):
            try:
                await self._open()
                break
            except OSError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.1)
        for _ in range(SPARE - 1):
            self.replenish()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: _Control(self), self.host, self.port, **self._tls())

    def _tls(self) -> dict[str, Any]:
        return {"ssl": self.tls, "server_hostname": SERVER_NAME} if self.tls is not None else {}

    def replenish(self) -> None:
        if self.closing:
            return

        async def open_one() -> None:
            try:
                await self._open()
                self._failures = 0
            except OSError as exc:
                self._failures += 1
                if self._failures == 1:
                    self.log(f"cannot reach the Runtime API relay at {self.host}:{self.port}: {exc}")
                await asyncio.sleep(min(2.0, 0.1 * self._failures))
                self.replenish()

        task = create_task(open_one(), name="runtime relay spare")
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def dial(self, address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``address:port`` on the relay's network (an extension's listener
        inside its environment), through the relay."""
        reader, writer = await asyncio.open_connection(self.host, self.port, **self._tls())
        writer.write(f"SCF-DIAL {self.token} {address} {port}\n".encode())
        return reader, writer

    def lost(self) -> None:
        """A spare closed before use (the relay restarted, or went away): open another."""
        if not self.closing:
            self.replenish()

    async def stop(self) -> None:
        self.closing = True
        for task in list(self._opening):
            task.cancel()
        if self._opening:
            await asyncio.gather(*self._opening, return_exceptions=True)
        for spare in list(self.spares):
            if spare.transport is not None:
                spare.transport.abort()
        self.spares.clear()


class Probe:
    """A listener that a container's direct connection reaches, or not."""

    def __init__(self, bind: str) -> None:
        self.bind = bind
        self.token = secrets.token_hex(8)
        self.port = 0
        self._reached = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def open(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.TimeoutError, ValueError):
                line = await asyncio.wait_for(reader.readline(), 2)
                if line.strip() == f"SCF-PROBE {self.token}".encode():
                    self._reached.set()
            writer.close()

        self._server = await asyncio.start_server(handle, self.bind, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def wait(self, seconds: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._reached.wait(), seconds)
        return self._reached.is_set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

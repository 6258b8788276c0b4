"""The viewer-facing listener: a lean HTTP/1.1 front for the gateway.

Most requests to a Fargate task are plain HTTP/1.1 with a sized body or
none. For those the front does the whole job at the socket level: it reads
the request head, routes it, rewrites the headers as CloudFront and the ALB
would, and relays the bytes both ways over keep-alive connections to the
task (kept in :class:`OriginPool`).

Everything else -- Lambda routes, WebSocket upgrades, chunked request
bodies, ``HEAD``, HTTP/1.0, a service that is still starting, any head the
front does not fully understand -- is answered by the aiohttp
:class:`~gateway.server.Gateway`: the front turns that viewer connection
into a byte tunnel to the gateway's internal listener, which then speaks
complete HTTP on it. So the fast path only ever sees requests it handles
exactly, and every other case keeps one implementation.

Why: aiohttp's server plus client cost about 200 µs of CPU per proxied
request; parsing one head and relaying bytes costs a fraction of that
(``bench/fargate_proxy.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from gateway.aws.headers import alb_request_headers, edge_request_headers, edge_response_headers, new_cf_id
from gateway.proxy import IDLE_TIMEOUT, alb_error_page

if TYPE_CHECKING:
    from gateway.server import Routes
    from runners.fargate import FargateService

MAX_HEAD = 64 * 1024
MAX_URL = 8192  # CloudFront: longer URLs are refused with 413
HIGH_WATER = 256 * 1024
POOL_IDLE = 4.0  # s an idle origin connection is reused (Node closes idle ones after 5 s)
CONNECT_TIMEOUT = 10.0
FAST_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TUNNEL_HEADERS = frozenset({"transfer-encoding", "upgrade", "expect"})


@dataclass
class RequestHead:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body_length: int
    close: bool


def parse_request_head(head: bytes) -> RequestHead | None:
    """The head (without its blank line) of a plain HTTP/1.1 request with a
    sized body or none; None for anything else (the gateway answers those)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1" or parts[0] not in FAST_METHODS:
        return None
    method, target, _ = parts
    if not target.startswith("/") or len(target) > MAX_URL:
        return None
    headers: list[tuple[str, str]] = []
    length: int | None = None
    close = False
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name[-1] in " \t" or line[0] in " \t" or "\n" in line or "\r" in line:
            return None
        value = value.strip(" \t")
        lower = name.lower()
        if lower in _TUNNEL_HEADERS:
            return None
        if lower == "content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif lower == "connection":
            tokens = {t.strip().lower() for t in value.split(",")}
            if "upgrade" in tokens:
                return None
            close = close or "close" in tokens
        headers.append((name, value))
    return RequestHead(method, target, headers, length or 0, close)


class ChunkedEnd:
    """Finds where a chunked body ends, leaving its bytes untouched."""

    def __init__(self) -> None:
        self._line = bytearray()
        self._state = "size"  # size | data | trailer
        self._left = 0

    def feed(self, data: bytes) -> int:
        """The offset just past the body's end in ``data``, or -1 if not there yet."""
        i, n = 0, len(data)
        while i < n:
            if self._state == "data":
                take = min(self._left, n - i)
                i += take
                self._left -= take
                if self._left == 0:
                    self._state = "size"
                continue
            j = data.find(b"\n", i)
            if j < 0:
                self._line += data[i:]
                if len(self._line) > 8192:
                    raise ValueError("chunk size line too long")
                return -1
            line = bytes(self._line) + data[i:j]
            self._line.clear()
            i = j + 1
            if self._state == "size":
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    self._state = "trailer"
                else:
                    self._left = size + 2  # data and its CRLF
                    self._state = "data"
            elif not line.strip():
                return i
        return -1


def _alb_page(status: int, cf_id: str, close: bool) -> bytes:
    title, headers, body = alb_error_page(status, cf_id)
    headers.append(("content-length", str(len(body))))
    if close:
        headers.append(("connection", "close"))
    return _head_bytes(f"HTTP/1.1 {title}", headers) + body


def _head_bytes(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    return (first_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n").encode("latin-1")


class Front:
    """Listens for viewers; relays Fargate requests itself, tunnels the rest
    to the aiohttp gateway listening on ``internal_port``."""

    def __init__(self, routes: Callable[[], Routes], log: Callable[[str], None], internal_port: int) -> None:
        self.routes = routes
        self.log = log
        self.internal_port = internal_port
        self.pool = OriginPool()
        self.peers: dict[int, str] = {}
        """Local port of a tunnel to the gateway -> the viewer's address."""
        self.viewers: set[_Viewer] = set()
        self.exchanges: set[_Exchange] = set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Viewer(self), host, port, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self, every: float = 1.0) -> None:
        """The ALB's idle timeout: a task silent for IDLE_TIMEOUT gets a 504.
        One sweep a second instead of a timer per request."""
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for exchange in [e for e in self.exchanges if now - e.last >= IDLE_TIMEOUT]:
                exchange.fail(504)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for viewer in list(self.viewers):
            viewer.close()
        self.pool.close()
        await asyncio.sleep(0)  # let the transports run their connection_lost

    def client_ip(self, tunnel_port: int, default: str) -> str:
        return self.peers.get(tunnel_port, default)


class OriginPool:
    """Idle keep-alive connections to tasks, newest first, per address."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Origin]] = {}

    def take(self, address: tuple[str, int]) -> _Origin | None:
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            origin = idle.pop()
            alive = origin.transport is not None and not origin.transport.is_closing()
            if alive and not origin.closed and now - origin.idle_since < POOL_IDLE:
                return origin
            origin.close()
        return None

    def give(self, origin: _Origin) -> None:
        origin.idle_since = time.monotonic()
        self._idle.setdefault(origin.address, []).append(origin)

    def close(self) -> None:
        for idle in self._idle.values():
            for origin in idle:
                origin.close()
        self._idle.clear()


class _Viewer(asyncio.Protocol):
    """One viewer connection: fast exchanges one at a time, or a tunnel."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.transport: asyncio.Transport | None = None
        self.client_ip = "127.0.0.1"
        self.buffer = bytearray()
        self.exchange: _Exchange | None = None
        self.tunnel: _Tunnel | None = None
        self.closing = False
        self._paused: set[str] = set()
        self._corked: list[bytes] | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0])
        self.front.viewers.add(self)

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.send(data)
            return
        exchange = self.exchange
        if exchange is not None and exchange.body_left > 0:
            piece = data[: exchange.body_left]
            exchange.send_body(piece)
            data = data[len(piece) :]
            if not data:
                return
        self.buffer += data
        if self.exchange is None:
            self.next()
        elif len(self.buffer) > HIGH_WATER:
            self.pause("pipelined")

    def eof_received(self) -> bool:
        if self.tunnel is not None:
            self.tunnel.end()
            return True
        if self.exchange is not None:
            self.closing = True  # answer the request in flight, then close
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.front.viewers.discard(self)
        self.closing = True
        if self.exchange is not None:
            self.exchange.abandon()
        if self.tunnel is not None:
            self.tunnel.close()

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.pause_origin()
        if self.tunnel is not None and self.tunnel.transport is not None:
            self.tunnel.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.resume_origin()
        if self.tunnel is not None and self.tunnel.transport is not None:
            self.tunnel.transport.resume_reading()

    # flow

    def pause(self, reason: str) -> None:
        if not self._paused and self.transport is not None:
            self.transport.pause_reading()
        self._paused.add(reason)

    def resume(self, reason: str) -> None:
        self._paused.discard(reason)
        if not self._paused and self.transport is not None and not self.closing:
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self._corked is not None:
            self._corked.append(data)
        elif self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def cork(self) -> None:
        """Gather writes until :meth:`uncork` sends them in one system call."""
        self._corked = []

    def uncork(self) -> None:
        corked, self._corked = self._corked, None
        if corked:
            self.write(b"".join(corked))

    def close(self) -> None:
        self.uncork()
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    # requests

    def next(self) -> None:
        """Start the next buffered request: fast exchange or tunnel."""
        if self.exchange is not None or self.tunnel is not None or self.closing:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self.start_tunnel()
            return
        head = parse_request_head(bytes(self.buffer[:end]))
        plan = self.front_plan(head) if head is not None else None
        if head is None or plan is None:
            self.start_tunnel()
            return
        del self.buffer[: end + 4]
        self.resume("pipelined")
        exchange = _Exchange(self, head, *plan)
        self.exchange = exchange
        body = bytes(self.buffer[: head.body_length])
        del self.buffer[: len(body)]
        exchange.begin(body)

    def front_plan(self, head: RequestHead) -> tuple[FargateService, tuple[str, int], bytes, str] | None:
        """(service, task address, head for the task, CloudFront id), or
        None when the gateway should answer."""
        routes = self.front.routes()
        host = next((v for n, v in head.headers if n.lower() == "host"), None)
        decision = routes.router.route(head.target, host)
        if decision.container is None:
            return None
        service = routes.services.get(decision.container)
        address = service.ready_target() if service is not None else None
        if service is None or address is None:
            return None
        cf_id = new_cf_id()
        to_task = alb_request_headers(
            edge_request_headers(head.headers, client_ip=self.client_ip, decision=decision, cf_id=cf_id),
            peer_ip="127.0.0.1",
            now=time.time(),
        )
        first_line = f"{head.method} {head.target} HTTP/1.1"
        return service, address, _head_bytes(first_line, to_task), cf_id

    def done(self, exchange: _Exchange) -> None:
        if self.exchange is exchange:
            self.exchange = None
        if exchange.body_left > 0 or exchange.head.close or self.closing:
            self.close()
        else:
            self.next()

    def start_tunnel(self) -> None:
        tunnel = _Tunnel(self, bytes(self.buffer))
        self.buffer.clear()
        self.tunnel = tunnel
        self.resume("pipelined")
        tunnel.open()


class _Exchange:
    """One fast request: viewer -> task -> viewer."""

    def __init__(
        self,
        viewer: _Viewer,
        head: RequestHead,
        service: FargateService,
        address: tuple[str, int],
        to_task: bytes,
        cf_id: str,
    ) -> None:
        self.viewer = viewer
        self.head = head
        self.service = service
        self.container = service.container.name
        self.address = address
        self.to_task = to_task
        self.cf_id = cf_id
        self.body_left = head.body_length
        self.started = time.monotonic()
        self.origin: _Origin | None = None
        self.pending: list[bytes] = []
        self.replay: bytes | None = None
        self.reused = False
        self.answered = False  # the response head went to the viewer
        self.finished = False
        self.status = 0
        self.last = self.started

    def begin(self, body: bytes) -> None:
        self.body_left -= len(body)
        first = self.to_task + body
        if self.body_left == 0:
            self.replay = first  # complete: can be resent on a fresh connection
        self.viewer.front.exchanges.add(self)
        self.service.inflight += 1
        origin = self.viewer.front.pool.take(self.address)
        if origin is not None:
            self.reused = True
            self._attach(origin, first)
        else:
            self.pending.append(first)
            asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, origin = await asyncio.wait_for(
                loop.create_connection(lambda: _Origin(self.address), *self.address), CONNECT_TIMEOUT
            )
        except asyncio.TimeoutError:
            self.fail(504)
            return
        except OSError:
            self.fail(502)
            return
        if self.finished:
            origin.close()
            return
        first = b"".join(self.pending)
        self.pending.clear()
        self._attach(origin, first)

    def _attach(self, origin: _Origin, first: bytes) -> None:
        self.origin = origin
        origin.start(self)
        assert origin.transport is not None
        origin.transport.write(first)

    def send_body(self, data: bytes) -> None:
        self.body_left -= len(data)
        self.last = time.monotonic()
        if self.origin is not None and self.origin.transport is not None:
            self.origin.transport.write(data)
        else:
            self.pending.append(data)

    # from the origin

    def respond(self, status: int, data: bytes) -> None:
        self.status = status
        self.answered = True
        self.viewer.write(data)

    def finish(self, reusable: bool) -> None:
        if self.finished:
            return
        self.finished = True
        self.viewer.front.exchanges.discard(self)
        self.service.inflight -= 1
        origin, self.origin = self.origin, None
        if origin is not None:
            origin.exchange = None
            if reusable and self.body_left == 0 and not origin.closed:
                self.viewer.front.pool.give(origin)
            else:
                origin.close()
        ms = (time.monotonic() - self.started) * 1000
        self.viewer.front.log(
            f"{self.head.method} {self.head.target} -> {self.container} {self.status} {ms:.1f} ms "
            f"-> {self.address[0]}:{self.address[1]}"
        )
        self.viewer.done(self)

    def origin_lost(self, origin: _Origin, got_bytes: bool) -> None:
        """The task's connection closed before the response ended."""
        if self.finished:
            return
        if not got_bytes and self.reused and self.replay is not None:
            self.reused = False  # a keep-alive connection the task had just closed: resend once
            self.origin = None
            current = self.viewer.front.routes().services.get(self.container)
            address = current.ready_target() if current is not None else None
            if current is not None and address is not None:  # the service may have been replaced
                self.service.inflight -= 1
                current.inflight += 1
                self.service, self.address = current, address
            self.pending = [self.replay]
            asyncio.get_running_loop().create_task(self._connect())
            return
        self.fail(502)

    def fail(self, status: int) -> None:
        if self.finished:
            return
        if self.answered:  # the head went out already: the viewer sees the cut
            self.viewer.close()
            if self.viewer.transport is not None:
                self.viewer.transport.abort()
            self.finish(False)
            return
        self.respond(status, _alb_page(status, self.cf_id, close=self.body_left > 0 or self.head.close))
        self.finish(False)

    def abandon(self) -> None:
        """The viewer went away."""
        if self.origin is not None:
            self.origin.close()
        if not self.finished:
            self.service.inflight -= 1
        self.finished = True
        self.viewer.front.exchanges.discard(self)

    def pause_origin(self) -> None:
        if self.origin is not None and self.origin.transport is not None:
            self.origin.transport.pause_reading()

    def resume_origin(self) -> None:
        if self.origin is not None and self.origin.transport is not None:
            self.origin.transport.resume_reading()


class _Origin(asyncio.Protocol):
    """A keep-alive connection to a task; reads one response per exchange."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._mode = "head"  # head | length | chunked | until-close | done
        self._left = 0
        self._chunks: ChunkedEnd | None = None
        self._reusable = True
        self._got = False

    def start(self, exchange: _Exchange) -> None:
        self.exchange = exchange
        self._buffer.clear()
        self._mode = "head"
        self._got = False

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:  # nothing asked: a confused task
            self.close()
            return
        self._got = True
        exchange.last = time.monotonic()
        if self._mode == "head":
            self._buffer += data
            viewer = exchange.viewer
            viewer.cork()
            try:
                self._read_head(exchange)
            finally:
                viewer.uncork()
        else:
            self._body(exchange, data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        exchange, self.exchange = self.exchange, None
        if exchange is None:
            return
        if self._mode == "until-close":
            exchange.viewer.write(b"0\r\n\r\n")
            exchange.finish(False)
        else:
            exchange.origin_lost(self, self._got)

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.viewer.pause("upload")

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.viewer.resume("upload")

    # the response

    def _read_head(self, exchange: _Exchange) -> None:
        while self._mode == "head":
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    self.close()
                return
            head = bytes(self._buffer[:end]).decode("latin-1")
            rest = bytes(self._buffer[end + 4 :])
            self._buffer.clear()
            try:
                interim = self._head(exchange, head)
            except ValueError:
                self._reusable = False
                exchange.fail(502)
                return
            if interim:
                self._buffer += rest
                continue
            if rest or self._mode == "done":
                self._body(exchange, rest)

    def _head(self, exchange: _Exchange, head: str) -> bool:
        """Send the rewritten head on; True for an interim (1xx) response."""
        lines = head.split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        status = int(code)
        if not version.startswith("HTTP/1.") or not 100 <= status <= 599 or status == 101:
            raise ValueError(lines[0])
        if status < 200:
            exchange.viewer.write((head + "\r\n\r\n").encode("latin-1"))
            return True
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        coded = False
        self._reusable = version == "HTTP/1.1"
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(line)
            value = value.strip(" \t")
            lower = name.lower()
            if lower == "content-length":
                length = int(value)
            elif lower == "transfer-encoding":
                coded = True
                chunked = value.lower().rstrip().endswith("chunked")
            elif lower == "connection" and "close" in value.lower():
                self._reusable = False
            headers.append((name, value))
        out = edge_response_headers(headers, cf_id=exchange.cf_id)
        if status in (204, 304):
            self._mode = "done"
        elif coded and chunked:
            self._mode = "chunked"
            self._chunks = ChunkedEnd()
            out.append(("transfer-encoding", "chunked"))
        elif length is not None and not coded:
            self._mode = "length" if length else "done"
            self._left = length
        else:  # ends when the task closes: re-framed as chunks for the viewer
            self._mode = "until-close"
            self._reusable = False
            out = [(n, v) for n, v in out if n.lower() != "content-length"]
            out.append(("transfer-encoding", "chunked"))
        if exchange.head.close or exchange.body_left > 0:
            out.append(("connection", "close"))
        exchange.respond(status, _head_bytes(f"HTTP/1.1 {status} {reason}", out))
        return False

    def _body(self, exchange: _Exchange, data: bytes) -> None:
        mode = self._mode
        if mode == "length":
            if len(data) > self._left:
                data = data[: self._left]
                self._reusable = False
            exchange.viewer.write(data)
            self._left -= len(data)
            if self._left == 0:
                self._end(exchange)
        elif mode == "chunked":
            assert self._chunks is not None
            try:
                end = self._chunks.feed(data)
            except ValueError:
                exchange.fail(502)
                return
            if end < 0:
                exchange.viewer.write(data)
            else:
                exchange.viewer.write(data[:end])
                if end < len(data):
                    self._reusable = False
                self._end(exchange)
        elif mode == "until-close":
            if data:
                exchange.viewer.write(b"%x\r\n%s\r\n" % (len(data), data))
        elif mode == "done":
            if data:
                self._reusable = False
            self._end(exchange)

    def _end(self, exchange: _Exchange) -> None:
        self._mode = "done"
        exchange.finish(self._reusable)


class _Tunnel(asyncio.Protocol):
    """Bytes both ways between a viewer and the gateway's internal listener."""

    def __init__(self, viewer: _Viewer, first: bytes) -> None:
        self.viewer = viewer
        self.transport: asyncio.Transport | None = None
        self._pending = [first] if first else []
        self._ended = False
        self._port = 0

    def open(self) -> None:
        asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self, "127.0.0.1", self.viewer.front.internal_port)
        except OSError:
            self.viewer.close()

    def send(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)
        else:
            self._pending.append(data)

    def end(self) -> None:
        self._ended = True
        if self.transport is not None and self.transport.can_write_eof():
            self.transport.write_eof()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        self._port = int(transport.get_extra_info("sockname")[1])
        self.viewer.front.peers[self._port] = self.viewer.client_ip
        if self.viewer.closing and not self._ended:
            transport.close()
            return
        for data in self._pending:
            transport.write(data)
        self._pending.clear()
        if self._ended:
            self.end()

    def data_received(self, data: bytes) -> None:
        self.viewer.write(data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.viewer.front.peers.pop(self._port, None)
        self.viewer.close()

    def pause_writing(self) -> None:
        self.viewer.pause("tunnel")

    def resume_writing(self) -> None:
        self.viewer.resume("tunnel")

"""The floor with the edge's work: what the CPU goal of the proxy path has to pay for at least.

    python floor_edge.py PORT NPROC      (upstream 127.0.0.1:18081; access lines to stdout)

The shared floor (``../shared/bench-floor/floor_proxy.py``: uvloop + httptools, protocol
callbacks, bytes only) plus the least that CloudFront, its Function and the ALB do on
scf-local's Fargate path, written as tightly as Python allows:

- request: a head check (method, version, one Host, size), the route (a dict per host and
  path, as scf-local keeps its decisions), hop-by-hop and edge headers dropped, ``via``,
  ``x-amz-cf-id``, ``x-origin-id``, ``x-origin-type``, ``x-forwarded-host``,
  ``x-forwarded-for``/``-proto``/``-port`` and ``x-amzn-trace-id`` added, the body framed;
- response: the task's header lines read (one callback each, as llhttp gives them),
  hop-by-hop and framing dropped, ``via``, ``x-cache``, ``x-amz-cf-pop``, ``x-amz-cf-id``
  added, its framing;
- an access line per request, written once per loop turn.

Keep-alive both sides, one task connection per viewer connection; no timeouts, no flow
control, no error pages, no dashboard: a floor to measure beside nginx and scf-local
(``BENCH_FLOOR`` in ``proxy_cost.py``, and ``engine_cost.py``), not a proxy to use.
"""

import asyncio
import base64
import os
import random
import sys
import time

import httptools
import uvloop

UP = ("127.0.0.1", 18081)
DROP = frozenset(
    b"connection keep-alive proxy-connection proxy-authenticate proxy-authorization te trailer "
    b"transfer-encoding upgrade x-forwarded-for via x-amz-cf-id x-origin-id x-origin-type "
    b"x-forwarded-host x-forwarded-proto x-forwarded-port x-amzn-trace-id x-real-ip "
    b"content-length expect".split()
)
DROP_RESPONSE = frozenset(
    b"connection keep-alive proxy-connection proxy-authenticate proxy-authorization te trailer "
    b"transfer-encoding upgrade via x-cache x-amz-cf-id content-length".split()
)
METHODS = frozenset(b"GET HEAD OPTIONS PUT POST PATCH DELETE".split())
VIA = b"1.1 scf-local.cloudfront.net (CloudFront)"
TAIL = b"via: " + VIA + b"\r\nx-cache: Miss from cloudfront\r\nx-amz-cf-pop: LOCAL1-C1\r\nx-amz-cf-id: "
REQUEST = (
    b"%s %s HTTP/1.1\r\n%svia: %s\r\nx-amz-cf-id: %s\r\n%sx-forwarded-for: %s, 127.0.0.1\r\n"
    b"x-forwarded-proto: http\r\nx-forwarded-port: 80\r\nx-amzn-trace-id: Root=1-%08x-%s\r\n%s%s"
)
ROUTES: dict[tuple[bytes, bytes], bytes] = {}  # (host, path) -> the route's header block
IDS: list[tuple[bytes, bytes]] = []
LINES: list[str] = []
OUT = sys.stdout


def new_ids() -> tuple[bytes, bytes]:
    """A CloudFront id and a trace root's tail, made 256 at a time as scf-local makes them."""
    if not IDS:
        text = base64.urlsafe_b64encode(random.randbytes(42 * 256))
        tails = random.randbytes(12 * 256).hex().encode()
        ids = [text[i : i + 56] for i in range(0, len(text), 56)]
        IDS.extend(zip(ids, [tails[i : i + 24] for i in range(0, len(tails), 24)], strict=True))
    return IDS.pop()


def route(host: bytes, path: bytes) -> bytes:
    block = ROUTES.get((host, path))
    if block is None:
        block = b"x-origin-id: api\r\nx-origin-type: awsFargateEcs\r\nx-forwarded-host: " + host + b"\r\n"
        ROUTES[(host, path)] = block
    return block


def flush() -> None:
    lines, LINES[:] = LINES[:], []
    OUT.write("".join(lines))


class Upstream(asyncio.Protocol):
    def __init__(self, client: "Client") -> None:
        self.client = client
        self.parser = httptools.HttpResponseParser(self)

    def connection_made(self, t):  # type: ignore[no-untyped-def]
        self.t = t

    def data_received(self, data: bytes) -> None:
        self.out: list[bytes] = []  # the head and the body that came with it leave in one write
        self.parser.feed_data(data)
        if self.out:
            self.client.t.write(b"".join(self.out))

    def on_message_begin(self) -> None:
        self.lines: list[bytes] = []
        self.length: bytes | None = None

    def on_header(self, n: bytes, v: bytes) -> None:
        low = n.lower()
        if low not in DROP_RESPONSE:
            self.lines.append(n + b": " + v + b"\r\n")
        elif low == b"content-length":
            self.length = v

    def on_headers_complete(self) -> None:
        c = self.client
        c.status = self.parser.get_status_code()
        if self.length is not None:
            frame = b"content-length: " + self.length + b"\r\n\r\n"
        else:
            frame = b"transfer-encoding: chunked\r\n\r\n"
        self.out.append(
            b"HTTP/1.1 %d OK\r\n%s%s%s\r\n%s" % (c.status, b"".join(self.lines), TAIL, c.cf_id, frame)
        )

    def on_body(self, b: bytes) -> None:
        self.out.append(b)

    def on_message_complete(self) -> None:
        self.client.upstream_done()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.up = None
        if not self.client.t.is_closing():
            self.client.t.close()


class Client(asyncio.Protocol):
    status: int  # set by its Upstream (declared for mypyc: bench/compiled.py)

    def connection_made(self, t):  # type: ignore[no-untyped-def]
        self.t = t
        self.parser = httptools.HttpRequestParser(self)
        self.ip = t.get_extra_info("peername")[0].encode()
        self.up: Upstream | None = None
        self.queue: list[bytes] = []
        self.busy = self.connecting = False

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.t.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.hdrs: list[bytes] = []
        self.body: list[bytes] = []
        self.host: list[bytes] = []
        self.size = 0
        self.length: bytes | None = None

    def on_url(self, u: bytes) -> None:
        self.url += u

    def on_header(self, n: bytes, v: bytes) -> None:
        self.size += len(n) + len(v) + 4
        low = n.lower()
        if low not in DROP:
            self.hdrs.append(n + b": " + v + b"\r\n")
            if low == b"host":
                self.host.append(v)
        elif low == b"content-length":
            self.length = v

    def on_body(self, b: bytes) -> None:
        self.body.append(b)

    def on_message_complete(self) -> None:
        p = self.parser
        method = p.get_method()
        if method not in METHODS or p.get_http_version() != "1.1" or len(self.host) != 1 or self.size > 20480:
            self.t.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.t.close()
            return
        self.cf_id, tail = new_ids()
        self.started = time.monotonic()
        self.method = method
        body = b"".join(self.body)
        frame = b"content-length: %d\r\n\r\n" % len(body) if self.length is not None else b"\r\n"
        block = route(self.host[0], self.url.partition(b"?")[0])
        hdrs = b"".join(self.hdrs)
        now = int(time.time())
        self.queue.append(
            REQUEST % (method, self.url, hdrs, VIA, self.cf_id, block, self.ip, now, tail, frame, body)
        )
        self.pump()

    def pump(self) -> None:
        if self.busy or not self.queue:
            return
        if self.up is None:
            if not self.connecting:
                self.connecting = True
                asyncio.get_running_loop().create_task(self.connect())
            return
        self.busy = True
        self.up.t.write(self.queue.pop(0))

    async def connect(self) -> None:
        _, self.up = await asyncio.get_running_loop().create_connection(lambda: Upstream(self), *UP)
        self.connecting = False
        self.pump()

    def upstream_done(self) -> None:
        if not LINES:
            asyncio.get_running_loop().call_soon(flush)
        took = (time.monotonic() - self.started) * 1000
        url = self.url.decode("latin-1")
        LINES.append(
            f"{time.strftime('%H:%M:%S')} api {self.method.decode()} {url} {self.status} {took:.1f} ms\n"
        )
        self.busy = False
        self.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.up is not None:
            self.up.t.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Client, "127.0.0.1", port, reuse_port=True, backlog=1024)
    await server.serve_forever()


def main() -> None:
    port, processes = int(sys.argv[1]), int(sys.argv[2])
    for _ in range(processes - 1):
        if os.fork() == 0:
            break
    uvloop.run(serve(port))


if __name__ == "__main__":
    main()

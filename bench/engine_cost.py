"""The engine's own Python per proxied request, with no sockets: what is left once the kernel's
and the event loop's share is taken away.

    python bench/engine_cost.py [requests]

A viewer connection and a task connection are driven with in-memory transports: a
request with the 14 headers Chrome sends goes in as bytes, the head the task would
receive comes out; the task's answer (Node.js's five headers) goes in, the viewer's
response comes out. The same loop runs the floor (``../shared/bench-floor``'s idea:
httptools callbacks appending header lines, bytes written through) for the ratio.
Everything runs on one event loop (uvloop), as ``scf-local up`` does; the access
lines are formatted and dropped (what a log file costs, minus the write).
"""

from __future__ import annotations

import asyncio
import sys
import time
import types
from pathlib import Path

import floor_edge
import httptools

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from client import BROWSER_HEADERS

from gateway.aws.function_url import FunctionUrl
from gateway.aws.routing import Router
from gateway.cli import run_fast
from gateway.config import load_config
from gateway.http.origin_connection import OriginConnection
from gateway.http.routes import Routes
from gateway.http.server import Gateway
from gateway.http.viewer import ViewerConnection

REQUEST = (
    b"GET /x HTTP/1.1\r\nHost: localhost:3000\r\nConnection: keep-alive\r\n"
    + b"".join(f"{name}: {value}\r\n".encode() for name, value in BROWSER_HEADERS.items())
    + b"\r\n"
)
BODY = b'{"hello":"world","padding":"' + b"x" * 200 + b'"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
    b"Date: Tue, 01 Dec 2026 06:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n%s"
) % (len(BODY), BODY)
ROUNDS = 15
CONFIG = """
name: ecost
deployment: {type: aws@1.0}
containers:
  api:
    src: ./api
    routing: {pathPattern: /*}
    compute: {type: awsFargateEcs}
"""


class Transport:
    """An in-memory transport: keeps the last write."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.peer if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        raise SystemExit("the engine closed a connection it should keep")


class Service:
    container = types.SimpleNamespace(name="api")
    inflight = 0

    def ready_target(self) -> tuple[str, int]:
        return ("10.0.0.2", 8080)


async def engine(requests: int) -> float:
    with __import__("tempfile").TemporaryDirectory() as tmp:
        (Path(tmp) / "api").mkdir()
        (Path(tmp) / "api" / "package.json").write_text("{}")
        (Path(tmp) / "serverless.containers.yml").write_text(CONFIG)
        config = load_config(Path(tmp) / "serverless.containers.yml", environ={})
    routes = Routes(
        config,
        Router.from_config(config),
        {},
        {"api": FunctionUrl.for_container("ecost", "dev", "api")},
        {},
        {"api": Service()},  # type: ignore[dict-item]
    )
    gateway = Gateway(routes, log=lambda line: None)
    viewer = ViewerConnection(gateway, gateway.connections)
    viewer_out = Transport(("127.0.0.1", 50000))
    viewer.connection_made(viewer_out)  # type: ignore[arg-type]
    origin = OriginConnection(("10.0.0.2", 8080))
    origin_out = Transport(("10.0.0.2", 8080))
    origin.connection_made(origin_out)  # type: ignore[arg-type]
    gateway.idle.give(origin)
    started = time.perf_counter()
    for n in range(requests):
        viewer.data_received(REQUEST)
        origin.data_received(RESPONSE)
        if n % 64 == 63:
            await asyncio.sleep(0)  # the loop's turn: the access lines of the batch
    took = time.perf_counter() - started
    assert len(origin_out.written) == requests and len(viewer_out.written) == requests
    return took / requests * 1e6


class FloorViewer:
    def __init__(self, out: Transport, up: Transport) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.out, self.up = out, up

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers: list[bytes] = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append(name + b": " + value)

    def on_message_complete(self) -> None:
        head = b"%s %s HTTP/1.1\r\n%s\r\n\r\n" % (
            self.parser.get_method(),
            self.url,
            b"\r\n".join(self.headers),
        )
        self.up.write(head)


class FloorUpstream:
    def __init__(self, out: Transport) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.out = out

    def on_message_complete(self) -> None:
        pass


async def floor(requests: int) -> float:
    out, up = Transport(("127.0.0.1", 1)), Transport(("10.0.0.2", 8080))
    viewer, upstream = FloorViewer(out, up), FloorUpstream(out)
    started = time.perf_counter()
    for _ in range(requests):
        viewer.parser.feed_data(REQUEST)
        out.write(RESPONSE)
        upstream.parser.feed_data(RESPONSE)
    return (time.perf_counter() - started) / requests * 1e6


class Discard:
    def write(self, text: str) -> None:
        pass


async def edge_floor(requests: int) -> float:
    """``floor_edge.py``: the floor plus the least of the edge's work (its check, route, header
    rewrites both ways, access line), driven the same way."""
    floor_edge.OUT = Discard()
    out, up = Transport(("127.0.0.1", 50000)), Transport(("10.0.0.2", 8080))
    viewer = floor_edge.Client()
    viewer.connection_made(out)
    upstream = floor_edge.Upstream(viewer)
    upstream.connection_made(up)
    viewer.up = upstream
    started = time.perf_counter()
    for n in range(requests):
        viewer.data_received(REQUEST)
        upstream.data_received(RESPONSE)
        if n % 64 == 63:
            await asyncio.sleep(0)
    took = time.perf_counter() - started
    assert len(up.written) == requests and len(out.written) == requests
    return took / requests * 1e6


async def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = {"engine": [], "floor": [], "edge": []}  # type: dict[str, list[float]]
    for _ in range(ROUNDS):
        rounds["floor"].append(await floor(requests))
        rounds["edge"].append(await edge_floor(requests))
        rounds["engine"].append(await engine(requests))
    best = {name: min(times) for name, times in rounds.items()}
    print(f"Python per proxied request, no sockets, best of {ROUNDS} rounds of {requests}:")
    print(
        f"  scf-local engine {best['engine']:.1f} us; floor {best['floor']:.1f} us; "
        f"{best['engine'] / best['floor']:.1f}x"
    )
    print(
        f"  the floor with the edge's work (floor_edge.py) {best['edge']:.1f} us: "
        f"scf-local's engine {best['engine'] / best['edge']:.1f}x that"
    )


if __name__ == "__main__":
    run_fast(main())

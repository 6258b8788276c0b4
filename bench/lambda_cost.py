"""The gateway's own Python per warm Lambda invoke, with no sockets: what
``lambda_invoke.py``'s overhead is made of once the kernel's and the other processes' share
is taken away.

    python bench/lambda_cost.py [invokes]

A viewer connection and an environment's RIE connection are driven with in-memory
transports, the real pool between them: a ``GET`` with the 14 headers Chrome sends goes in
as bytes, the event reaches the RIE connection, the RIE's answer (``{"statusCode": 200,
"body": "ok"}``) comes back, the viewer's response comes out. One event loop (uvloop), as
``scf-local up`` runs; the access lines are formatted and dropped. CPU time of the loop's
thread, best of 15 rounds.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from client import BROWSER_HEADERS

from gateway.aws.function_url import FunctionUrl
from gateway.aws.routing import Router
from gateway.cli import run_fast
from gateway.config import load_config
from gateway.http.routes import Routes
from gateway.http.server import Gateway
from gateway.http.viewer import ViewerConnection
from runners.awslambda import rie_client
from runners.awslambda.environments import Environment
from runners.awslambda.pool import LambdaPool

REQUEST = (
    b"GET /x HTTP/1.1\r\nHost: localhost:3000\r\nConnection: keep-alive\r\n"
    + b"".join(f"{name}: {value}\r\n".encode() for name, value in BROWSER_HEADERS.items())
    + b"\r\n"
)
ANSWER = b'{"statusCode": 200, "body": "ok"}'
RIE_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 06 Dec 2026 03:00:00 GMT\r\n"
    b"Content-Length: %d\r\n\r\n%s"
) % (len(ANSWER), ANSWER)
ROUNDS = 15
CONFIG = """
name: bench
deployment: {type: aws@1.0}
containers:
  fn:
    src: ./fn
    routing: {pathPattern: /*}
    compute: {type: awsLambda}
    dev: {handler: app.handler, runtime: python3.13, concurrency: 10}
"""


class Transport:
    """An in-memory transport: each write goes to ``on_write``."""

    def __init__(self, peer: tuple[str, int], on_write: types.FunctionType | None = None) -> None:
        self.peer = peer
        self.on_write = on_write

    def write(self, data: bytes) -> None:
        if self.on_write is not None:
            self.on_write(data)

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.peer if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        raise SystemExit("a connection was closed that should be kept")


async def main() -> None:
    invokes = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fn").mkdir()
        (Path(tmp) / "fn" / "app.py").write_text("def handler(event, context): pass\n")
        (Path(tmp) / "serverless.containers.yml").write_text(CONFIG)
        config = load_config(Path(tmp) / "serverless.containers.yml", environ={})
    loop = asyncio.get_running_loop()
    pool = LambdaPool(config.containers[0], app="bench", stage="dev", backend=None, log=lambda line: None)  # type: ignore[arg-type]
    pool.state = "running"
    env = Environment(1, port=9000, ready=True)
    rie = rie_client._Connection()  # the RIE answers on the next turn of the loop
    rie.connection_made(
        Transport(("10.0.0.2", 8080), lambda data: loop.call_soon(rie.data_received, RIE_REPLY))
    )  # type: ignore[arg-type]
    env.client = rie_client.RieClient("10.0.0.2", 8080)
    env.client._conn = rie
    pool._envs[1] = env
    pool._idle.append(env)
    url = FunctionUrl.for_container("bench", "dev", "fn")
    gateway = Gateway(
        Routes(config, Router.from_config(config), {"fn": pool}, {"fn": url}, {}, {}), log=print
    )
    gateway.log_many = lambda lines: None
    viewer = ViewerConnection(gateway, gateway.connections)
    answered: list[asyncio.Future[None]] = []
    viewer.connection_made(Transport(("127.0.0.1", 50000), lambda data: answered[-1].set_result(None)))  # type: ignore[arg-type]

    async def run(count: int) -> float:
        started = time.thread_time()
        for _ in range(count):
            answered.append(loop.create_future())
            viewer.data_received(REQUEST)
            await answered[-1]
            answered.pop()
        return (time.thread_time() - started) / count * 1e6

    await run(500)
    best = min([await run(invokes) for _ in range(ROUNDS)])
    print(
        f"gateway Python per warm Lambda invoke, no sockets: {best:.1f} us "
        f"(best of {ROUNDS} rounds of {invokes})"
    )


if __name__ == "__main__":
    run_fast(main())

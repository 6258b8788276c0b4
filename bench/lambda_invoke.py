"""Lambda path figures, measured side by side in one run (real Docker).

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/lambda_invoke.py

1. Warm invoke latency: GET through the gateway vs a direct POST of the same
   event to the RIE of the same (warm) environment, interleaved one by one.
   Goal: p50 overhead <= 2 ms.
2. Throughput: 8 concurrent clients for 5 s against a handler that sleeps
   100 ms. Goal: >= 60 req/s with zero errors (the pool at work).
3. Cold start: starting a new execution environment (container + RIE ready)
   and its first invoke, against a warm invoke.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.aws.function_url import FunctionUrl, HttpRequest, build_event, encode_event  # noqa: E402
from gateway.config import load_config  # noqa: E402
from gateway.logs import Console  # noqa: E402
from gateway.up.supervisor import Supervisor  # noqa: E402
from runners.awslambda.pool import INVOKE_PATH  # noqa: E402

HANDLER = """
import time
def handler(event, context):
    if event["rawPath"] == "/sleep":
        time.sleep(0.1)
    return {"statusCode": 200, "body": "ok"}
"""
CONFIG = """
name: bench
deployment: {type: aws@1.0}
containers:
  fn:
    src: ./fn
    routing: {pathPattern: /*}
    compute: {type: awsLambda}
    dev: {handler: app.handler, runtime: python3.12, concurrency: 10}
"""


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "fn").mkdir()
        (root / "fn" / "app.py").write_text(HANDLER)
        (root / "serverless.containers.yml").write_text(CONFIG)
        config = load_config(root / "serverless.containers.yml")
        supervisor = Supervisor(config, console=Console(io.StringIO(), color=False), port=0)
        await supervisor.start()
        try:
            base = f"http://127.0.0.1:{supervisor.gateway.port}"  # type: ignore[union-attr]
            pool = supervisor.pools["fn"]
            env = next(iter(pool._envs.values()))  # the one warm environment
            rie = f"http://127.0.0.1:{env.port}{INVOKE_PATH}"
            payload = encode_event(
                build_event(
                    HttpRequest("GET", "/x"), FunctionUrl.for_container("b", "d", "fn"), "bench", time.time()
                )
            )
            async with aiohttp.ClientSession() as http:
                via, direct = [], []
                for i in range(400):
                    t = time.perf_counter()
                    async with http.get(f"{base}/x") as r:
                        await r.read()
                    if i >= 20:
                        via.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    async with http.post(
                        rie, data=payload, headers={"content-type": "application/json"}
                    ) as r:
                        await r.read()
                    if i >= 20:
                        direct.append((time.perf_counter() - t) * 1000)
                g50, d50 = statistics.median(via), statistics.median(direct)
                print(
                    f"warm invoke p50: gateway {g50:.2f} ms, direct RIE {d50:.2f} ms, "
                    f"overhead {g50 - d50:.2f} ms "
                    f"(p99 {pct(via, 0.99):.2f} vs {pct(direct, 0.99):.2f} ms; goal overhead <= 2 ms)"
                )

                async def load(seconds: float) -> tuple[int, int, float]:
                    done = errors = 0
                    end = time.monotonic() + seconds

                    async def client() -> None:
                        nonlocal done, errors
                        while time.monotonic() < end:
                            async with http.get(f"{base}/sleep") as r:
                                await r.read()
                                done += r.status == 200
                                errors += r.status != 200

                    start = time.monotonic()
                    await asyncio.gather(*(client() for _ in range(8)))
                    return done, errors, time.monotonic() - start

                done, errors, elapsed = await load(5)
                print(
                    f"throughput, 8 clients, 100 ms handler, from 1 warm environment: "
                    f"{done / elapsed:.1f} req/s, "
                    f"{errors} errors, {pool.size} environments (goal >= 60 req/s, 0 errors)"
                )
                done, errors, elapsed = await load(5)
                print(
                    f"throughput, same, pool already grown: {done / elapsed:.1f} req/s, {errors} errors "
                    f"(ceiling 8 / 0.1 s = 80 req/s)"
                )

                starts, firsts = [], []
                for _ in range(3):
                    t = time.perf_counter()
                    fresh = await pool._start_environment()
                    starts.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    async with http.post(f"http://127.0.0.1:{fresh.port}{INVOKE_PATH}", data=payload) as r:
                        await r.read()
                    firsts.append((time.perf_counter() - t) * 1000)
                    await pool._discard(fresh)
                print(
                    f"cold start: new environment ready in {statistics.median(starts):.0f} ms, first invoke "
                    f"{statistics.median(firsts):.1f} ms, warm invoke {d50:.2f} ms (medians of 3)"
                )
        finally:
            await supervisor.stop()


if __name__ == "__main__":
    asyncio.run(main())

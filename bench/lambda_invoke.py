"""Lambda path figures, measured side by side in one run (real Docker).

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/lambda_invoke.py

1. Warm invoke latency: ``GET /x`` through the gateway vs a direct POST of the
   same event to the RIE of the same warm environment, interleaved one by one
   from a client in its own process, each over a keep-alive connection.
   Goal: p50 overhead <= 0.3 ms. Then, for where it goes, the same against a direct POST
   to the RIE at the container's own address (no docker-proxy, as the gateway invokes it
   where this machine reaches containers there).
2. Throughput: wrk with 8 connections for 5 s against a handler that sleeps
   100 ms. Goal: >= 60 req/s with zero errors (the pool at work); ceiling 80.
3. Cold start: a new execution environment (container + RIE ready) and its
   first invoke, against a warm invoke.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
from common import interleaved_latency, pct, rss_mb, run_fast, stack, wrk

from gateway.aws.function_url import FunctionUrl, HttpRequest, build_event, encode_event
from runners.awslambda.environments import INVOKE_PATH

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
    dev: {handler: app.handler, runtime: python3.13, concurrency: 10}
"""


async def main() -> None:
    async with stack(CONFIG, {"fn/app.py": HANDLER}) as supervisor:
        assert supervisor.gateway is not None
        base = f"http://127.0.0.1:{supervisor.gateway.port}"
        pool = supervisor.pools["fn"]
        env = next(iter(pool._envs.values()))  # type: ignore[attr-defined]  # the one warm environment
        rie = f"http://127.0.0.1:{env.port}{INVOKE_PATH}"
        url = FunctionUrl.for_container("bench", "dev", "fn")
        payload = encode_event(build_event(HttpRequest("GET", "/x"), url, "bench", time.time()))
        times = await asyncio.to_thread(
            interleaved_latency,
            {"gateway": ("GET", f"{base}/x", b""), "direct": ("POST", rie, payload)},
            500,
        )
        via, direct = times["gateway"], times["direct"]
        g50, d50 = statistics.median(via), statistics.median(direct)
        print(
            f"warm invoke p50: gateway {g50:.2f} ms, direct RIE {d50:.2f} ms -> overhead {g50 - d50:.2f} ms "
            f"(goal <= 0.3 ms); p99 {pct(via, 0.99):.2f} vs {pct(direct, 0.99):.2f} ms"
        )
        if env.ip:
            nearby = f"http://{env.ip}:8080{INVOKE_PATH}"
            times = await asyncio.to_thread(
                interleaved_latency,
                {"gateway": ("GET", f"{base}/x", b""), "direct": ("POST", nearby, payload)},
                500,
            )
            g50, a50 = statistics.median(times["gateway"]), statistics.median(times["direct"])
            print(
                f"  the same vs the RIE at the container's address (no docker-proxy): gateway {g50:.2f} ms, "
                f"direct {a50:.2f} ms -> {g50 - a50:.2f} ms"
            )
        rps, p50, _ = await asyncio.to_thread(wrk, f"{base}/sleep", 5, 8, 2)
        print(
            f"throughput, 8 connections, 100 ms handler, from 1 warm environment: {rps:.1f} req/s, "
            f"p50 {p50:.0f} ms, {pool.size} environments (goal >= 60 req/s)"
        )
        rps, p50, _ = await asyncio.to_thread(wrk, f"{base}/sleep", 5, 8, 2)
        print(f"throughput, pool already grown: {rps:.1f} req/s, p50 {p50:.0f} ms (ceiling 80 req/s)")
        print(f"gateway process RSS: {rss_mb():.0f} MB")

        starts, firsts = [], []
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                t = time.perf_counter()
                fresh = await pool._start_environment()  # type: ignore[attr-defined]
                starts.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                async with http.post(f"http://127.0.0.1:{fresh.port}{INVOKE_PATH}", data=payload) as r:
                    await r.read()
                firsts.append((time.perf_counter() - t) * 1000)
                await pool._discard(fresh)  # type: ignore[attr-defined]
        print(
            f"cold start: new environment ready in {statistics.median(starts):.0f} ms, first invoke "
            f"{statistics.median(firsts):.1f} ms, warm invoke {d50:.2f} ms (medians of 3)"
        )


if __name__ == "__main__":
    run_fast(main())  # the event loop scf-local up runs on

"""Lambda through scf-local's Runtime API, measured in one run (real Docker).

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/lambda_streaming.py

1. Warm invoke latency: the same Node.js handler behind the base image's RIE (BUFFERED)
   and behind scf-local's Runtime API (RESPONSE_STREAM), interleaved one by one from a
   client in its own process over keep-alive connections. Goal: the Runtime API path is
   not slower.
2. First write to first byte: a streaming handler stamps its first chunk with the wall
   clock (same host clock as the client); the client, in its own process over one
   keep-alive connection, notes when that chunk arrives.
   Goal: p50 <= 5 ms.
3. Throughput: wrk with 8 connections for 5 s against a 100 ms streaming handler, once the
   pool has grown. Goal: >= 75 req/s (ceiling 80).
4. Lambda's bandwidth cap: a 12 MB stream (curl, its own process), with the cap and without
   (``up --no-stream-shaping``), interleaved. Expected: the first 6 MB uncapped, the other
   6 MB at 2 MB/s, so about 3 s with the cap.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import aiohttp
from common import interleaved_latency, pct, run_fast, stack, wrk

HANDLER = """
exports.handler = async () => ({ statusCode: 200, body: "ok" });
"""
STREAMING = """
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  if (event.rawPath === "/stamp/sleep") { await sleep(100); stream.end("ok"); return; }
  if (event.rawPath === "/stamp/big") {
    const chunk = Buffer.alloc(65536, 97);
    for (let i = 0; i < 192; i++) stream.write(chunk);  // 12 MB
    stream.end();
    return;
  }
  stream.write(String(performance.timeOrigin + performance.now()) + "\\n");
  await sleep(20);
  stream.end("done");
});
"""
CONFIG = """
name: benchstream
deployment: {type: aws@1.0}
containers:
  rie:
    src: ./fn
    routing: {pathPattern: /rie/*}
    compute: {type: awsLambda}
    dev: {handler: index.handler, runtime: nodejs22.x}
  api:
    src: ./fn
    routing: {pathPattern: /api/*}
    compute: {type: awsLambda}
    dev: {handler: index.handler, runtime: nodejs22.x, invokeMode: RESPONSE_STREAM}
  stamp:
    src: ./stamp
    routing: {pathPattern: /stamp/*}
    compute: {type: awsLambda}
    dev: {handler: index.handler, runtime: nodejs22.x, invokeMode: RESPONSE_STREAM, concurrency: 10}
"""


def first_byte_delays(url: str, rounds: int) -> list[float]:
    """From a client in its own process, over one keep-alive connection."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("first_byte_client.py")), url, str(rounds)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    delays: list[float] = json.loads(out)
    return delays


async def main() -> None:
    files = {"fn/index.js": HANDLER, "stamp/index.js": STREAMING}
    async with stack(CONFIG, files) as supervisor:
        assert supervisor.gateway is not None
        base = f"http://127.0.0.1:{supervisor.gateway.port}"
        async with aiohttp.ClientSession() as http:
            for path in ("/rie/x", "/api/x", "/stamp/x"):  # warm each once
                async with http.get(base + path) as r:
                    await r.read()
        times = await asyncio.to_thread(
            interleaved_latency,
            {"rie": ("GET", f"{base}/rie/x", b""), "api": ("GET", f"{base}/api/x", b"")},
            500,
        )
        r50, a50 = statistics.median(times["rie"]), statistics.median(times["api"])
        print(
            f"warm invoke p50: RIE path {r50:.2f} ms, Runtime API path {a50:.2f} ms -> ratio {a50 / r50:.2f} "
            f"(goal <= 1.00); p99 {pct(times['rie'], 0.99):.2f} vs {pct(times['api'], 0.99):.2f} ms"
        )
        delays = await asyncio.to_thread(first_byte_delays, f"{base}/stamp/x", 200)
        print(
            f"first write -> first byte at the viewer: p50 {statistics.median(delays):.2f} ms, "
            f"p99 {pct(delays, 0.99):.2f} ms (goal p50 <= 5 ms)"
        )
        await asyncio.to_thread(wrk, f"{base}/stamp/sleep", 3, 8, 2)  # grow the pool
        rps, p50, _ = await asyncio.to_thread(wrk, f"{base}/stamp/sleep", 5, 8, 2)
        size = supervisor.pools["stamp"].size
        print(
            f"8 connections, 100 ms streaming handler, grown pool ({size} environments): {rps:.1f} req/s "
            f"p50 {p50:.0f} ms (goal >= 75, ceiling 80)"
        )
        shaped: list[float] = []
        unshaped: list[float] = []
        capped = supervisor.gateway.timeouts
        for _ in range(3):
            for times_, timeouts in ((unshaped, replace(capped, stream_bandwidth=None)), (shaped, capped)):
                supervisor.gateway.timeouts = timeouts
                times_.append(await asyncio.to_thread(curl_seconds, f"{base}/stamp/big", 12 * 1024 * 1024))
        supervisor.gateway.timeouts = capped
        print(
            f"12 MB stream: {statistics.median(unshaped):.2f} s without the cap, "
            f"{statistics.median(shaped):.2f} s with it (expected about 3 s: 6 MB past the first 6 MB "
            "at 2 MB/s)"
        )


def curl_seconds(url: str, size: int) -> float:
    """The whole body through curl (a client in its own process); its total time."""
    result = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    got, seconds = result.stdout.split()
    assert int(got) == size, f"{got} bytes, not {size}"
    return float(seconds)


if __name__ == "__main__":
    run_fast(main())  # the event loop scf-local up runs on

"""The Lambda Runtime API direct and through the relay, measured in one run (real Docker).

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/runtime_relay.py

Two stacks of the same streaming Node.js handler run side by side: one whose runtimes
connect to scf-local directly (``--runtime-api direct``), one whose runtimes go through the
relay container (``--runtime-api relay``).

1. Warm streaming invoke: interleaved one by one from a client in its own process over
   keep-alive connections, with a browser's headers. Goal: the relay adds <= 0.3 ms at p50.
2. First write to first byte: the handler stamps its first chunk with the wall clock (same
   host clock as the client), the client (own process, one keep-alive connection) notes when
   it arrives, on each path. Goal: p50 <= 5 ms on both.
"""

from __future__ import annotations

import asyncio
import statistics

import aiohttp
from common import interleaved_latency, pct, run_fast, stack
from lambda_streaming import first_byte_delays

HANDLER = """
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  if (event.rawPath === "/fn/stamp") {
    stream.write(String(performance.timeOrigin + performance.now()) + "\\n");
    await sleep(20);
  }
  stream.end("ok");
});
"""
CONFIG = """
name: benchrelay{n}
deployment: {{type: aws@1.0}}
containers:
  fn:
    src: ./fn
    routing: {{pathPattern: /fn/*}}
    compute: {{type: awsLambda}}
    dev: {{handler: index.handler, runtime: nodejs22.x, invokeMode: RESPONSE_STREAM}}
"""


async def main() -> None:
    files = {"fn/index.js": HANDLER}
    async with (
        stack(CONFIG.format(n=1), files, runtime_path="direct") as direct,
        stack(CONFIG.format(n=2), files, runtime_path="relay") as relayed,
    ):
        assert direct.gateway is not None and relayed.gateway is not None
        assert relayed.fleet.runtime_api is not None and relayed.fleet.runtime_api.path == "relay"
        bases = {
            "direct": f"http://127.0.0.1:{direct.gateway.port}",
            "relay": f"http://127.0.0.1:{relayed.gateway.port}",
        }
        async with aiohttp.ClientSession() as http:
            for base in bases.values():  # warm each once
                async with http.get(f"{base}/fn/x") as r:
                    assert r.status == 200, await r.text()
        targets = {name: ("GET", f"{base}/fn/x", b"") for name, base in bases.items()}
        for _ in range(3):  # three runs, to see the spread
            times = await asyncio.to_thread(interleaved_latency, targets, 1000)
            d50, r50 = statistics.median(times["direct"]), statistics.median(times["relay"])
            print(
                f"warm streaming invoke p50: direct {d50:.2f} ms, relay {r50:.2f} ms -> relay adds "
                f"{r50 - d50:+.2f} ms (goal <= 0.3); p99 {pct(times['direct'], 0.99):.2f} vs "
                f"{pct(times['relay'], 0.99):.2f} ms"
            )
        for name, base in bases.items():
            delays = await asyncio.to_thread(first_byte_delays, f"{base}/fn/stamp", 200)
            print(
                f"first write -> first byte, {name}: p50 {statistics.median(delays):.2f} ms, "
                f"p99 {pct(delays, 0.99):.2f} ms (goal p50 <= 5 ms)"
            )


if __name__ == "__main__":
    run_fast(main())  # the event loop scf-local up runs on

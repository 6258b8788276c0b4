"""Soak: 60 s of mixed Lambda and Fargate traffic on 32 connections, a code reload every 10 s.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 \\
        python bench/soak.py [seconds]

wrk (its own process, keep-alive) alternates a Lambda route and a Fargate
route. Every 10 s the Lambda handler is edited, so the stack hot-reloads
under load. Every 5 s the gateway process's RSS, open file descriptors and
this stack's container count are sampled. Goals: 0 failed requests; RSS
under 100 MB and growing less than 10% from 10 s to the end; descriptors and
containers flat. Loopback only, bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import need, rss_mb, run_fast, stack

from runners.docker.backend import LABEL

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'v%d'}\n"
SERVER = """
require("node:http").createServer((req, res) => {
  res.writeHead(200, {"content-type": "text/plain"});
  res.end("task");
}).listen(Number(process.env.PORT));
"""
CONFIG = """
name: soak
deployment: {type: aws@1.0}
containers:
  fn:
    src: ./fn
    routing: {pathPattern: /*}
    compute: {type: awsLambda}
    dev: {handler: app.handler, runtime: python3.13, concurrency: 10}
  api:
    src: ./api
    routing: {pathPattern: /api/*, pathHealthCheck: /api/x}
    compute: {type: awsFargateEcs}
"""
MIXED = """
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then return wrk.format("GET", "/api/x") end
  return wrk.format("GET", "/fn")
end
"""


def open_fds() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/fd"))


async def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    wrk = need("wrk", "wrk")
    files = {
        "fn/app.py": HANDLER % 0,
        "api/server.js": SERVER,
        "api/package.json": '{"scripts": {"start": "node server.js"}}',
    }
    async with stack(CONFIG, files, watch=True) as supervisor:
        assert supervisor.gateway is not None
        await asyncio.wait_for(supervisor.reloader.watching.wait(), 10)
        handler = supervisor.config.project_dir / "fn" / "app.py"
        session = {f"{LABEL}.session": supervisor.session}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(MIXED)
        load = subprocess.Popen(
            [
                wrk,
                "-t2",
                "-c32",
                f"-d{seconds}s",
                "-s",
                script.name,
                f"http://127.0.0.1:{supervisor.gateway.port}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples: list[tuple[float, float, int, int]] = []
        started = time.monotonic()
        reloads = 0
        while load.poll() is None:
            await asyncio.sleep(1)
            elapsed = time.monotonic() - started
            if int(elapsed) % 10 == 0 and int(elapsed) // 10 > reloads and elapsed < seconds - 2:
                reloads += 1
                supervisor.reloaded.clear()
                handler.write_text(HANDLER % reloads)
            if int(elapsed) % 5 == 0:
                containers = len(await supervisor.backend.list_labelled(session))
                samples.append((elapsed, rss_mb(), open_fds(), containers))
        out = load.stdout.read() if load.stdout else ""
        Path(script.name).unlink()

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    print(f"{total} requests in {seconds} s, {reloads} reloads under load, {failed} failed (goal 0)")
    print("   t      RSS    fds  containers")
    for elapsed, rss, fds, containers in samples:
        print(f"{elapsed:5.0f} s {rss:6.1f} MB {fds:5d} {containers:6d}")
    at10 = next((s for s in samples if s[0] >= 10), samples[0])
    last = samples[-1]
    growth = (last[1] - at10[1]) / at10[1]
    print(
        f"RSS {last[1]:.0f} MB (goal < 100), growth {growth:+.1%} from 10 s to the end (goal < 10%); "
        f"fds {at10[2]} -> {last[2]}; containers {at10[3]} -> {last[3]}"
    )


if __name__ == "__main__":
    run_fast(main())

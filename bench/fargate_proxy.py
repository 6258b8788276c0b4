"""Fargate path: the gateway (CloudFront + ALB emulation, streaming proxy) vs the
task's published port, measured side by side in one run with wrk.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 \\
        python bench/fargate_proxy.py [seconds]

32 concurrent keep-alive connections (wrk -c32 -t2). Goals: gateway throughput
>= 50% of direct, p50 overhead <= 1 ms. wrk comes from Debian (apt-get install wrk).
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config import load_config  # noqa: E402
from gateway.logs import Console  # noqa: E402
from gateway.up.supervisor import Supervisor  # noqa: E402

SERVER = """
const http = require("node:http");
const body = JSON.stringify({hello: "world", padding: "x".repeat(200)});
http.createServer((req, res) => {
  res.writeHead(200, {"content-type": "application/json", "content-length": Buffer.byteLength(body)});
  res.end(body);
}).listen(Number(process.env.PORT));
"""
CONFIG = """
name: fbench
deployment: {type: aws@1.0}
containers:
  api:
    src: ./api
    routing: {pathPattern: /*, pathHealthCheck: /}
    compute: {type: awsFargateEcs, awsFargateEcs: {cpu: 1024, memory: 1024}}
"""


def wrk(url: str, seconds: int) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    return rps, ms("50"), ms("99")


async def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "api").mkdir()
        (root / "api" / "server.js").write_text(SERVER)
        (root / "api" / "package.json").write_text('{"scripts": {"start": "node server.js"}}')
        (root / "serverless.containers.yml").write_text(CONFIG)
        supervisor = Supervisor(
            load_config(root / "serverless.containers.yml"),
            console=Console(io.StringIO(), color=False),
            port=0,
        )
        await supervisor.start()
        try:
            task = supervisor.services["api"].tasks[0]
            direct = f"http://127.0.0.1:{task.port}/x"
            via = f"http://127.0.0.1:{supervisor.gateway.port}/x"  # type: ignore[union-attr]
            await asyncio.to_thread(wrk, direct, 2)  # warm-up
            d = await asyncio.to_thread(wrk, direct, seconds)
            g = await asyncio.to_thread(wrk, via, seconds)
            print(f"direct to the published port:  {d[0]:8.0f} req/s  p50 {d[1]:.2f} ms  p99 {d[2]:.2f} ms")
            print(f"through the gateway:           {g[0]:8.0f} req/s  p50 {g[1]:.2f} ms  p99 {g[2]:.2f} ms")
            print(
                f"gateway/direct throughput {g[0] / d[0]:.0%} (goal >= 50%), "
                f"p50 overhead {g[1] - d[1]:.2f} ms "
                "(goal <= 1 ms)"
            )
            if task.address[0] != "127.0.0.1":  # the gateway skips docker-proxy: show that baseline too
                ip, port = task.address
                b = await asyncio.to_thread(wrk, f"http://{ip}:{port}/x", seconds)
                print(f"direct to the task's own address {ip} (no docker-proxy, as the gateway):")
                print(f"{'':31}{b[0]:8.0f} req/s  p50 {b[1]:.2f} ms  p99 {b[2]:.2f} ms")
                print(f"gateway/that: {g[0] / b[0]:.0%}, p50 overhead {g[1] - b[1]:.2f} ms")
        finally:
            await supervisor.stop()


if __name__ == "__main__":
    asyncio.run(main())

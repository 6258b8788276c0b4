"""Fargate path: scf-local vs nginx in front of the same task, measured in one run with wrk.

    SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 python bench/fargate_proxy.py [seconds] [rounds]

The same Node.js task is loaded three ways, in interleaved rounds: directly
(its own address, as both proxies reach it), through nginx (Debian's package,
one worker, ``proxy_pass`` with an upstream keepalive pool), and through
scf-local's gateway. wrk runs in its own process with 32 keep-alive
connections. Goals: gateway throughput >= 0.9x nginx's; gateway p50 overhead
<= nginx's overhead + 0.1 ms; gateway process RSS < 100 MB.
nginx and wrk come from Debian: apt-get install nginx-light wrk.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import interleaved_latency, need, rss_mb, run_fast, stack, wrk

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
NGINX = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  upstream task {{ server {ip}:{port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{listen};
    location / {{
      proxy_pass http://task;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    nginx = need("nginx", "nginx-light")
    files = {"api/server.js": SERVER, "api/package.json": '{"scripts": {"start": "node server.js"}}'}
    async with stack(CONFIG, files) as supervisor:
        assert supervisor.gateway is not None
        ip, port = supervisor.services["api"].tasks[0].address
        with tempfile.TemporaryDirectory() as tmp:
            listen = free_port()
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(NGINX.format(tmp=tmp, ip=ip, port=port, listen=listen))
            proxy = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
            try:
                await asyncio.sleep(0.5)
                urls = {
                    "direct": f"http://{ip}:{port}/x",
                    "nginx": f"http://127.0.0.1:{listen}/x",
                    "scf-local": f"http://127.0.0.1:{supervisor.gateway.port}/x",
                }
                for url in urls.values():
                    await asyncio.to_thread(wrk, url, 1)  # warm-up
                runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in urls}
                for _ in range(rounds):
                    for name, url in urls.items():
                        runs[name].append(await asyncio.to_thread(wrk, url, seconds))
                single = await asyncio.to_thread(
                    interleaved_latency, {name: ("GET", url, b"") for name, url in urls.items()}, 2000
                )
            finally:
                proxy.terminate()
                proxy.wait()
        rss = rss_mb()

    med = {name: tuple(statistics.median(r[i] for r in got) for i in range(3)) for name, got in runs.items()}
    print(f"wrk -t2 -c32, {rounds} interleaved rounds of {seconds:g} s, medians:")
    for name, (rps, p50, p99) in med.items():
        print(f"  {name:10} {rps:8.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    d, n, g = med["direct"], med["nginx"], med["scf-local"]
    print(f"throughput scf-local/nginx: {g[0] / n[0]:.2f}x (goal >= 0.9x)")
    print(
        f"p50 overhead over direct: scf-local {g[1] - d[1]:+.2f} ms, nginx {n[1] - d[1]:+.2f} ms "
        f"(goal: scf-local <= nginx + 0.10 ms; difference {(g[1] - d[1]) - (n[1] - d[1]):+.2f} ms)"
    )
    one = {name: statistics.median(times) for name, times in single.items()}
    print(
        f"one request at a time (interleaved, keep-alive), p50: direct {one['direct']:.3f} ms, "
        f"nginx {one['nginx']:.3f} ms ({one['nginx'] - one['direct']:+.3f}), "
        f"scf-local {one['scf-local']:.3f} ms ({one['scf-local'] - one['direct']:+.3f})"
    )
    print(f"gateway process RSS: {rss:.0f} MB (goal < 100 MB; the process also holds the Docker client)")


if __name__ == "__main__":
    run_fast(main())  # the event loop scf-local up runs on

"""CPU per proxied request: scf-local's gateway beside nginx, in front of the same Fargate task.

    SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 python bench/proxy_cost.py [seconds] [rounds]

``scf-local up`` runs as users run it (its own process, output to a file, no
dashboard); nginx (Debian's, one process, upstream keepalive, no access log)
proxies to the same Node.js task. wrk runs in its own process (-t1 -c32,
keep-alive) with the 14 headers Chrome sends with a ``fetch()``; rounds
alternate direct / nginx / scf-local. For each round the proxy's CPU time
(utime + stime of its process, ``/proc/PID/stat``) over the requests it
served. Then one request at a time (bench/client.py, interleaved). Goals:
CPU per request <= 1.5x nginx's; throughput >= 0.9x nginx's; p50 overhead at
one request at a time <= nginx's + 0.05 ms.

``BENCH_FLOOR=path/to/floor_proxy.py`` adds the floor (``../shared/bench-floor/``: the
smallest Python proxy, uvloop + httptools, bytes only) as a fourth path, pointed at the
same task, to show how much of the cost is the kernel's and the event loop's. Several
programs, separated by ``:``, each make a path named for its file: ``bench/floor_edge.py``
is the floor plus the least of the edge's work (what the goal has to pay for).

``BENCH_COMPILED=1`` adds the same built with mypyc (``bench/compiled.py``, about a minute of
compiling first; ``BENCH_COMPILED=DIR``: scf-local's copy already built there by it):
``scf-local compiled`` (a second ``scf-local up``, its own copy of the task, with the hot
path compiled) and, for each floor program that has a ``main()``, ``<name> compiled``; then
the ratios of each compiled path to its source (CPU per request, throughput).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import compiled
from client import BROWSER_HEADERS
from common import interleaved_latency, need, rss_mb

SERVER = """
const http = require("node:http");
const body = JSON.stringify({hello: "world", padding: "x".repeat(200)});
const page = "<!doctype html><title>page</title><p>a page whose script fetches its resources</p>";
http.createServer((req, res) => {
  const html = req.url === "/page";
  const out = html ? page : body;
  const type = html ? "text/html" : "application/json";
  res.writeHead(200, {"content-type": type, "content-length": Buffer.byteLength(out)});
  res.end(out);
}).listen(Number(process.env.PORT));
"""
CONFIG = """
name: pcost
deployment: {type: aws@1.0}
containers:
  api:
    src: ./api
    routing: {pathPattern: /*, pathHealthCheck: /}
    compute: {type: awsFargateEcs, awsFargateEcs: {cpu: 1024, memory: 1024}}
"""
NGINX = """
daemon off;
master_process off;
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
TICK = os.sysconf("SC_CLK_TCK")
FLOOR_UPSTREAM = r"\(['\"]127\.0\.0\.1['\"], 18081\)"
"""Where a floor program names its upstream (either quotes), replaced by the task's address."""


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK  # utime, stime


def wrk(url: str, seconds: int) -> tuple[int, float, float]:
    """(requests, requests/s, p50 ms) over 32 keep-alive connections with a browser's headers."""
    headers = [arg for name, value in BROWSER_HEADERS.items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        [need("wrk", "wrk"), "-t1", "-c32", f"-d{seconds}s", "--latency", *headers, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return total, rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def task_address(project: Path) -> tuple[str, int]:
    ids = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--filter",
            "label=scf-local.container=api",
            "--filter",
            "label=scf-local.role=fargate",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for cid in ids:
        info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, check=True).stdout)[
            0
        ]
        if info["Config"]["WorkingDir"] and str(project) in json.dumps(info["Mounts"]):
            networks = info["NetworkSettings"]["Networks"]
            return next(n["IPAddress"] for n in networks.values() if n["IPAddress"]), 8080
    raise SystemExit("the task's container was not found")


def wait_ok(url: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer 200 within {limit:.0f} s")
        time.sleep(0.2)


def scf_local_up(
    tmp: Path, name: str, port: int, log: IO[str], pythonpath: Path | None
) -> subprocess.Popen[bytes]:
    """``scf-local up`` on a project of its own (``tmp/name``) serving the Node.js task on
    ``port``; with ``pythonpath`` first on the path (a compiled copy)."""
    project = tmp / name
    (project / "api").mkdir(parents=True)
    (project / "api" / "server.js").write_text(SERVER)
    (project / "api" / "package.json").write_text('{"scripts": {"start": "node server.js"}}')
    (project / "serverless.containers.yml").write_text(CONFIG)
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
        probe = "import gateway.http.viewer as m; print(m.__file__)"
        where = subprocess.run(
            [sys.executable, "-c", probe], cwd=project, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        if not where.endswith(".so"):
            raise SystemExit(f"the compiled copy is not what runs: gateway.http.viewer is {where}")
    scf_local = str(Path(sys.executable).parent / "scf-local")
    return subprocess.Popen(
        [scf_local, "up", "--port", str(port), "--no-dashboard", "--no-watch"],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@contextlib.contextmanager
def three_paths(
    floors: str | None = None, with_compiled: str = ""
) -> Iterator[dict[str, tuple[str, int | None]]]:
    """The same Node.js task three ways: its own address, behind nginx, behind ``scf-local up``
    (and behind each floor program in ``floors``, ``:``-separated; and, ``with_compiled``,
    each built with mypyc: ``1`` builds scf-local's copy, a folder is one already built):
    name -> (base URL, proxy process id)."""
    nginx = need("nginx", "nginx-light")
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "up.log", "w") as log:
        project = Path(tmp) / "project"
        hot_path = None
        if with_compiled == "1":
            hot_path = compiled.hot_path(Path(tmp) / "compiled")
        elif with_compiled:
            hot_path = Path(with_compiled).resolve()
        gateway_port, listen = free_port(), free_port()
        up = scf_local_up(Path(tmp), "project", gateway_port, log, None)
        ups = [up]
        helpers: list[subprocess.Popen[bytes]] = []
        try:
            wait_ok(f"http://127.0.0.1:{gateway_port}/", 180)
            ip, port = task_address(project)
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(NGINX.format(tmp=tmp, ip=ip, port=port, listen=listen))
            proxy = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
            helpers.append(proxy)
            wait_ok(f"http://127.0.0.1:{listen}/", 10)
            paths: dict[str, tuple[str, int | None]] = {
                "direct": (f"http://{ip}:{port}", None),
                "nginx": (f"http://127.0.0.1:{listen}", proxy.pid),
                "scf-local": (f"http://127.0.0.1:{gateway_port}", up.pid),
            }
            for floor in filter(None, (floors or "").split(":")):
                program = Path(tmp) / Path(floor).name
                source = re.sub(FLOOR_UPSTREAM, repr((ip, port)), Path(floor).read_text())
                program.write_text(source)
                commands = {Path(floor).stem: [sys.executable, str(program)]}
                if with_compiled and "def main(" in source:  # a program built to be imported
                    built = compiled.program(source, Path(tmp) / "compiled-floors", Path(floor).stem)
                    commands[f"{Path(floor).stem} compiled"] = built
                for name, command in commands.items():
                    floor_port = free_port()
                    helpers.append(subprocess.Popen([*command, str(floor_port), "1"], stdout=log, stderr=log))
                    wait_ok(f"http://127.0.0.1:{floor_port}/", 10)
                    paths[name] = (f"http://127.0.0.1:{floor_port}", helpers[-1].pid)
            if hot_path is not None:
                compiled_port = free_port()
                ups.append(scf_local_up(Path(tmp), "project-compiled", compiled_port, log, hot_path))
                wait_ok(f"http://127.0.0.1:{compiled_port}/", 180)
                paths["scf-local compiled"] = (f"http://127.0.0.1:{compiled_port}", ups[-1].pid)
            yield paths
        finally:
            for helper in helpers:
                helper.terminate()
                helper.wait()
            for each in ups:
                each.send_signal(signal.SIGINT)
            for each in ups:
                each.wait(60)


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with_compiled = os.environ.get("BENCH_COMPILED", "").removeprefix("0")
    with three_paths(os.environ.get("BENCH_FLOOR"), with_compiled) as paths:
        targets = {name: (base + "/x", pid) for name, (base, pid) in paths.items()}
        for url, _ in targets.values():
            wrk(url, 1)  # warm-up
        runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, (url, pid) in targets.items():
                before = cpu_seconds(pid) if pid else (0.0, 0.0)
                total, rps, p50 = wrk(url, seconds)
                after = cpu_seconds(pid) if pid else (0.0, 0.0)
                user, system = after[0] - before[0], after[1] - before[1]
                runs[name].append((rps, p50, (user + system) / total * 1e6, system / total * 1e6))
        single = interleaved_latency({name: ("GET", url, b"") for name, (url, _) in targets.items()}, 2000)
        rss = rss_mb(paths["scf-local"][1])
    med = {name: tuple(statistics.median(r[i] for r in got) for i in range(4)) for name, got in runs.items()}
    print(
        f"wrk -t1 -c32 with Chrome's {len(BROWSER_HEADERS) + 1} headers, "
        f"{rounds} interleaved rounds of {seconds} s, medians:"
    )
    for name, (rps, p50, cpu, system) in med.items():
        cost = f"  CPU/request {cpu:6.1f} us (system {system:.1f})" if name != "direct" else ""
        print(f"  {name:10} {rps:8.0f} req/s  p50 {p50:.2f} ms{cost}")
    for name, got in runs.items():
        if name != "direct":
            print(f"  {name:10} per round: " + ", ".join(f"{r[0]:.0f} req/s {r[2]:.1f} us" for r in got))
    n, g = med["nginx"], med["scf-local"]
    print(f"CPU per request scf-local/nginx: {g[2] / n[2]:.2f}x (goal <= 1.5x)")
    print(f"throughput scf-local/nginx: {g[0] / n[0]:.2f}x (goal >= 0.9x)")
    one = {name: statistics.median(times) for name, times in single.items()}
    over_n, over_g = one["nginx"] - one["direct"], one["scf-local"] - one["direct"]
    print(
        f"one request at a time, p50: direct {one['direct']:.3f} ms, nginx {over_n:+.3f}, "
        f"scf-local {over_g:+.3f} ms (goal <= nginx + 0.05: {over_g - over_n:+.3f})"
    )
    for name in one.keys() - {"direct", "nginx", "scf-local"}:
        print(f"  {name}: {one[name] - one['direct']:+.3f} ms over direct")
    for name in med.keys() - {"direct", "nginx", "scf-local"}:
        cost, rate = med[name][2] / n[2], med[name][0] / n[0]
        print(f"{name}/nginx: CPU per request {cost:.2f}x, throughput {rate:.2f}x")
    for name in med.keys() - {"direct", "nginx"}:
        for floor in med.keys() & {"floor_edge", "floor_edge compiled"} - {name}:
            cost, rate = med[name][2] / med[floor][2], med[name][0] / med[floor][0]
            print(f"{name}/{floor}: CPU per request {cost:.2f}x, throughput {rate:.2f}x")
    for name in med:
        if name.endswith(" compiled"):
            source = med[name.removesuffix(" compiled")]
            drop, rate = source[2] / med[name][2], med[name][0] / source[0]
            print(f"{name}: CPU per request {drop:.2f}x less than its source, throughput {rate:.2f}x")

    print(f"scf-local up process RSS after the runs: {rss:.0f} MB (goal < 100 MB)")


if __name__ == "__main__":
    main()

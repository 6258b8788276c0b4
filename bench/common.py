"""What the benchmarks share: a running stack, clients in their own processes, percentiles.

Every figure is measured the way a browser or a load tool talks to the gateway:
the client runs in a separate process (wrk, or ``bench/client.py``) over
keep-alive connections, and the baseline is measured in the same run,
interleaved with the path under test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.cli import run_fast  # noqa: E402, F401  (re-exported for the benchmarks)
from gateway.config import load_config  # noqa: E402
from gateway.logs import Console  # noqa: E402
from gateway.up.supervisor import Supervisor  # noqa: E402


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SystemExit(f"{tool} is needed: apt-get install {package}")
    return path


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), in MB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def wrk(url: str, seconds: float, connections: int = 32, threads: int = 2) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) from wrk over ``connections`` keep-alive connections."""
    duration = f"-d{max(1, round(seconds))}s"
    out = subprocess.run(
        [need("wrk", "wrk"), f"-t{threads}", f"-c{connections}", duration, "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    return rps, ms("50"), ms("99")


def interleaved_latency(targets: dict[str, tuple[str, str, bytes]], rounds: int) -> dict[str, list[float]]:
    """Per-request latency in ms for each (method, url, body), one request to each in turn,
    each over its own keep-alive connection, from a client in another process."""
    spec = {name: [method, url, body.decode("latin-1")] for name, (method, url, body) in targets.items()}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "client.py"), str(rounds)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, list[float]] = json.loads(out)
    return result


@contextlib.asynccontextmanager
async def stack(
    config: str,
    files: dict[str, str],
    watch: bool = False,
    prepare: Callable[[Path], None] | None = None,
    **options: Any,
) -> AsyncIterator[Supervisor]:
    """``scf-local up`` on a free port for a project made of ``config`` and ``files``
    (``prepare`` finishes the folder: node_modules...); ``options`` go to the Supervisor. Its
    output goes nowhere, or to the file ``$BENCH_LOG`` names."""
    with tempfile.TemporaryDirectory() as tmp, open(os.environ.get("BENCH_LOG", os.devnull), "a") as sink:
        root = Path(tmp)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        (root / "serverless.containers.yml").write_text(config)
        if prepare is not None:
            prepare(root)
        supervisor = Supervisor(
            load_config(root / "serverless.containers.yml"),
            console=Console(sink, color=False, flush_every=0.05),  # as scf-local up writes to a terminal
            port=0,
            watch=watch,
            **options,
        )
        try:
            await supervisor.start()
            yield supervisor
        finally:
            await supervisor.stop()

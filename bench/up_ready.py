"""``scf-local up`` -> ready on the bundled example, per engine, and Ctrl-C -> exited; with
``--baseline REF``, another commit's ``up`` measured in the same rounds, interleaved.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 \\
        python bench/up_ready.py [rounds] [--baseline main] [--no-trace]

``up`` runs as users run it (its own process, ``examples/mixed``: a Python Lambda handler and
a Node.js Fargate task); the time is from starting the process to its "is up at" line (the
banner comes once every container is ready), then from SIGINT to its exit (everything
removed). Engines: Docker (the default endpoint) and, when ``podman`` is installed, Podman
rootful through its API socket (a service started here on a socket of its own, the stand-in
images copied into its store first). Rounds alternate the engines, and the builds.

Each run is traced (``SCF_LOCAL_TRACE``, :mod:`gateway.trace`: the steps of ``up`` and every
Engine API call, on the benchmark's clock); the median run of each build and engine is printed
as a time line: where the time to ready goes. A baseline from before the trace existed prints
its times only. The baseline is the commit's files (``git archive``) in a folder of their own,
run by this interpreter (the same packages).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Step = tuple[str, float, float | None]
"""(step, began, ended) in seconds from the start of ``up``'s process; ended None: a point."""


@dataclass
class Run:
    ready: float
    stop: float
    steps: list[Step] = field(default_factory=list)


def up_once(code: Path, project: Path, env: dict[str, str], trace: Path | None) -> Run:
    env = {**env, "PYTHONPATH": str(code)}
    if trace is not None:
        trace.unlink(missing_ok=True)
        env["SCF_LOCAL_TRACE"] = str(trace)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "up", "--port", "0", "--no-dashboard", "--no-watch"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "is up at" in line:
            break
    else:
        raise SystemExit(f"up did not get ready: exit {process.wait()}")
    ready = time.monotonic() - started
    asked = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    run = Run(ready, time.monotonic() - asked)
    if trace is not None and trace.exists():
        for line in trace.read_text().splitlines():
            found = json.loads(line)
            ended = found["ended"]
            run.steps.append(
                (found["step"], found["began"] - started, None if ended is None else ended - started)
            )
    return run


def time_line(run: Run) -> list[str]:
    """The steps that began before ``up`` said it was ready, in the order they began."""
    lines = [f"    {'from':>7} {'to':>7} {'took':>7}  step (ms from the start of the process)"]
    for step, began, ended in sorted(run.steps, key=lambda s: s[1]):
        if began > run.ready:
            continue  # stopping
        if ended is None:
            lines.append(f"    {began * 1000:7.0f} {'':7} {'':7}  {step}")
        else:
            lines.append(f"    {began * 1000:7.0f} {ended * 1000:7.0f} {(ended - began) * 1000:7.1f}  {step}")
    lines.append(f"    {run.ready * 1000:7.0f} {'':7} {'':7}  'is up at' read by the benchmark")
    return lines


def podman_service(folder: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    exe = shutil.which("podman")
    if exe is None:
        return None
    path = folder / "podman.sock"
    service = subprocess.Popen([exe, "system", "service", "--time=0", f"unix://{path}"])
    for _ in range(150):
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
                break
            except OSError:
                time.sleep(0.2)
    repo = os.environ.get("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", "scf-local-standin")
    images = [f"{repo}/python:3.13", f"{repo}/node:22"]
    with subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE) as save:
        subprocess.run([exe, "load", "-q"], stdin=save.stdout, check=True, capture_output=True)
    return service, f"unix://{path}"


def checkout(ref: str, folder: Path) -> Path:
    """Commit ``ref``'s files in ``folder``."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF", help="a commit to measure too, interleaved (e.g. main)")
    parser.add_argument("--no-trace", action="store_true", help="run without SCF_LOCAL_TRACE")
    parser.add_argument("--engine", action="append", choices=("docker", "podman"), help="only these engines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "mixed"
        shutil.copytree(ROOT / "examples" / "mixed", project)
        builds = {"this": ROOT}
        if args.baseline:
            builds[args.baseline] = checkout(args.baseline, Path(tmp) / "baseline")
        engines = {"docker": dict(os.environ)}
        started = podman_service(Path(tmp)) if args.engine is None or "podman" in args.engine else None
        if started is not None:
            engines["podman"] = {**os.environ, "DOCKER_HOST": started[1]}
        if args.engine is not None:
            engines = {name: env for name, env in engines.items() if name in args.engine}
        trace = None if args.no_trace else Path(tmp) / "trace.jsonl"
        try:
            for env in engines.values():
                for code in builds.values():
                    up_once(code, project, env, trace)  # images pulled or loaded, caches warm
            runs: dict[tuple[str, str], list[Run]] = {(e, b): [] for e in engines for b in builds}
            for _ in range(args.rounds):
                for engine, env in engines.items():
                    for build, code in builds.items():
                        runs[engine, build].append(up_once(code, project, env, trace))
        finally:
            if started is not None:
                started[0].terminate()
                started[0].wait(30)
    print(f"scf-local up on examples/mixed, {args.rounds} interleaved rounds, medians:")
    medians = {}
    for (engine, build), got in runs.items():
        ready = statistics.median(r.ready for r in got)
        stop = statistics.median(r.stop for r in got)
        medians[engine, build] = ready
        each = ", ".join(f"{r.ready:.2f}" for r in got)
        print(f"  {engine:7} {build:10} up -> ready {ready:.2f} s ({each}); Ctrl-C -> exited {stop:.2f} s")
    if args.baseline:
        for engine in engines:
            ratio = medians[engine, args.baseline] / medians[engine, "this"]
            print(f"  {engine:7} {args.baseline} / this: {ratio:.2f}x")
    for (engine, build), got in runs.items():
        median = sorted(got, key=lambda r: r.ready)[len(got) // 2]
        if median.steps:
            print(f"\n  {engine}, {build}: the median run ({median.ready:.2f} s)")
            print("\n".join(time_line(median)))


if __name__ == "__main__":
    main()

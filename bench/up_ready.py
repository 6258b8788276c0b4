"""``scf-local up`` -> ready on the bundled example, per engine, and Ctrl-C -> exited.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 \\
        python bench/up_ready.py [rounds]

``up`` runs as users run it (its own process, ``examples/mixed``: a Python Lambda handler and
a Node.js Fargate task); the time is from starting the process to its "is up at" line (the
banner comes once every container is ready), then from SIGINT to its exit (everything
removed). Engines: Docker (the default endpoint) and, when ``podman`` is installed, Podman
rootful through its API socket (a service started here on a socket of its own, the stand-in
images copied into its store first). Rounds alternate the engines.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def up_once(project: Path, env: dict[str, str]) -> tuple[float, float]:
    scf_local = str(Path(sys.executable).parent / "scf-local")
    started = time.monotonic()
    process = subprocess.Popen(
        [scf_local, "up", "--port", "0", "--no-dashboard", "--no-watch"],
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
    return ready, time.monotonic() - asked


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


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "mixed"
        shutil.copytree(ROOT / "examples" / "mixed", project)
        engines = {"docker": dict(os.environ)}
        started = podman_service(Path(tmp))
        if started is not None:
            engines["podman"] = {**os.environ, "DOCKER_HOST": started[1]}
        try:
            for env in engines.values():
                up_once(project, env)  # images pulled or loaded, caches warm
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
            for _ in range(rounds):
                for name, env in engines.items():
                    times[name].append(up_once(project, env))
        finally:
            if started is not None:
                started[0].terminate()
                started[0].wait(30)
    print(f"scf-local up on examples/mixed, {rounds} interleaved rounds, medians:")
    for name, got in times.items():
        ready = statistics.median(t for t, _ in got)
        stop = statistics.median(s for _, s in got)
        each = ", ".join(f"{t:.2f}" for t, _ in got)
        print(f"  {name:7} up -> ready {ready:.2f} s ({each}); Ctrl-C -> exited {stop:.2f} s")


if __name__ == "__main__":
    main()

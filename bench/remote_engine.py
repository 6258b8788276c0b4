"""The bundled example on a remote engine beside the local one: ``up`` -> ready, save -> new
response, Ctrl-C -> exited.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 \\
        python bench/remote_engine.py [rounds] [saves]

The remote engine is the tests' stand-in (``scripts/remote-engine``: a second dockerd in
network and mount namespaces of its own, reached through a veth pair; root only), once over
TCP and once over ssh (its sshd; the Engine API and the ports through one ssh connection).
Each round runs ``scf-local up`` in its own process on each engine in turn (interleaved):
the time from starting it to its "is up at" line; then ``saves`` edits of the Lambda
handler (``web/app.py``: a restart with the saved code, copied into the new environment on
the remote engine) and of the Fargate app (``api/server.js``: a restart), each timed from the
write to the first response of a client (its own process, a keep-alive connection, polling
every 20 ms) showing the new text; then SIGINT to exit. Prints medians and p50s per engine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLLER = r"""
import http.client, sys, time
host, port, path, wanted = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
timeout = float(sys.argv[5])
conn = http.client.HTTPConnection(host, port, timeout=30)
end = time.monotonic() + timeout
while time.monotonic() < end:
    conn.request("GET", path, headers={"Accept": "text/html,*/*", "User-Agent": "Mozilla/5.0"})
    body = conn.getresponse().read().decode()
    if wanted in body:
        print(time.monotonic()); sys.exit(0)
    time.sleep(0.02)
sys.exit(1)
"""


def saved_to_seen(port: int, path: str, file: Path, old: str, new: str, wanted: str) -> float:
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, "127.0.0.1", str(port), path, wanted, "90"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)  # the client is polling the old text
    written = time.monotonic()
    file.write_text(file.read_text().replace(old, new))
    out, _ = poller.communicate(timeout=120)
    if poller.returncode != 0:
        raise SystemExit(f"{path} never showed {wanted!r}")
    return float(out.strip()) - written


def one_round(project: Path, env: dict[str, str], saves: int, tag: str) -> tuple[float, list[float], float]:
    scf_local = str(Path(sys.executable).parent / "scf-local")
    started = time.monotonic()
    process = subprocess.Popen(
        [scf_local, "up", "--port", "0", "--no-dashboard"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    port = 0
    for line in process.stderr:
        found = re.search(r"is up at http://localhost:(\d+)", line)
        if found:
            port = int(found[1])
            break
    else:
        raise SystemExit(f"up did not get ready: exit {process.wait()}")
    ready = time.monotonic() - started
    said: list[str] = []
    drain = threading.Thread(target=lambda: said.extend(process.stderr or ()), daemon=True)
    drain.start()
    time.sleep(2)  # the watcher looks at the files
    took = []
    web, api = project / "web" / "app.py", project / "api" / "server.js"
    hello = "process.env.HELLO"
    for n in range(saves):
        took.append(saved_to_seen(port, "/", web, "<title>", f"<title>{tag}{n} ", f"<title>{tag}{n} "))
        took.append(
            saved_to_seen(port, "/api/x", api, f"hello: {hello}", f"hello: '{tag}{n}'", f'"{tag}{n}"')
        )
        hello = f"'{tag}{n}'"
        time.sleep(1)  # the old runners drain
    asked = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit(f"up did not stop within 90 s of SIGINT ({tag}):\n{''.join(said[-30:])}") from None
    return ready, took, time.monotonic() - asked


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    saves = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    script = ROOT / "scripts" / "remote-engine"
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "engine"
        url = subprocess.run([str(script), "start", str(state)], capture_output=True, text=True, check=True)
        try:
            repo = os.environ.get("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", "scf-local-standin")
            subprocess.run(
                [str(script), "load", str(state), f"{repo}/python:3.13", f"{repo}/node:22"], check=True
            )
            ssh_url = subprocess.run(
                [str(script), "ssh", str(state)], capture_output=True, text=True, check=True
            ).stdout.strip()
            wrapper = Path(tmp) / "bin" / "ssh"  # the engine's key and known host, as ~/.ssh/config gives
            wrapper.parent.mkdir()
            wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {state / "ssh_config"} "$@"\n')
            wrapper.chmod(0o755)
            engines = {
                "local": dict(os.environ),
                "remote": {**os.environ, "DOCKER_HOST": url.stdout.strip()},
                "ssh": {
                    **os.environ,
                    "DOCKER_HOST": ssh_url,
                    "PATH": f"{wrapper.parent}:{os.environ['PATH']}",
                },
            }
            results: dict[str, list[tuple[float, list[float], float]]] = {name: [] for name in engines}
            for name, env in engines.items():  # warm: images, caches
                project = Path(tmp) / f"warm-{name}"
                shutil.copytree(ROOT / "examples" / "mixed", project)
                one_round(project, env, 0, f"warm {name}")
            for r in range(rounds):
                for name, env in engines.items():
                    project = Path(tmp) / f"{name}-{r}"
                    shutil.copytree(ROOT / "examples" / "mixed", project)
                    results[name].append(one_round(project, env, saves, f"{name[0]}{r}-"))
        finally:
            subprocess.run([str(script), "stop", str(state)], capture_output=True)
    print(f"examples/mixed, {rounds} interleaved rounds, {saves} saves of each file per round:")
    for name, got in results.items():
        ready = statistics.median(t for t, _, _ in got)
        seen = [s for _, took, _ in got for s in took]
        lam, far = seen[0::2], seen[1::2]
        stop = statistics.median(s for _, _, s in got)
        print(
            f"  {name:6} up -> ready {ready:.2f} s; save -> new response p50 {statistics.median(seen):.2f} s "
            f"(Lambda handler {statistics.median(lam):.2f} s, Fargate app {statistics.median(far):.2f} s, "
            f"max {max(seen):.2f} s); Ctrl-C -> exited {stop:.2f} s"
        )


if __name__ == "__main__":
    main()

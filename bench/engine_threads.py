"""Threads and engine connections of an ``up`` with many containers: their output and exits read
on the event loop (one event stream, a log stream each) against the SDK's thread per stream.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/engine_threads.py [containers]

Starts N small containers (the stand-in Python image, ``sleep``), watches each as an
execution environment is watched (its log lines followed, its exit awaited), counts this
process's threads and open sockets, kills them all and measures when the last exit was
noticed; first with the SDK's threads (a log thread and a wait per container: before),
then with everything on the loop. Goal: no thread per container; every exit noticed within
a second of its kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runners.docker.backend import DockerBackend


def sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed meanwhile
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


async def measure(count: int, on_loop: bool) -> tuple[int, int, float]:
    """(threads added, sockets added, the longest time from a container's kill to its exit
    being noticed)."""
    labels = {"scf-local.bench-threads": secrets.token_hex(4)}
    backend = DockerBackend(loop_streams=on_loop)
    await backend.ping()
    if on_loop:
        await backend.subscribe(labels)
    image = f"{os.environ.get('SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY', 'scf-local-standin')}/python:3.13"
    client: Any = backend.client
    threads, open_sockets = threading.active_count(), sockets()
    containers = []
    noticed: dict[str, float] = {}
    killed: dict[str, float] = {}
    done = asyncio.Event()
    try:
        for _ in range(count):
            container = await asyncio.to_thread(
                client.containers.run, image, entrypoint=["sleep", "120"], detach=True, labels=labels
            )
            containers.append(container)
            backend.follow_logs(container.id, lambda line: None)

            def exited(code: int, container_id: str = container.id) -> None:
                noticed[container_id] = time.monotonic()
                if len(noticed) == count:
                    done.set()

            backend.watch_exit(container.id, exited)
        await asyncio.sleep(1)
        added = (threading.active_count() - threads, sockets() - open_sockets)

        def kill(container: Any) -> None:
            container.kill()  # returns once the engine has signalled it
            killed[container.id] = time.monotonic()

        await asyncio.gather(*(asyncio.to_thread(kill, c) for c in containers))
        await asyncio.wait_for(done.wait(), 60)
        return added[0], added[1], max(noticed[cid] - killed[cid] for cid in killed)
    finally:
        await asyncio.gather(*(asyncio.to_thread(c.remove, force=True) for c in containers))
        await backend.aclose()


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"{count} containers, each with its log lines followed and its exit watched:")
    for on_loop, label in ((False, "SDK threads (before)"), (True, "streams on the loop")):
        threads, opened, last = await measure(count, on_loop)
        print(
            f"  {label:32} +{threads} threads, +{opened} sockets; "
            f"an exit noticed at most {max(last, 0) * 1000:.0f} ms after its kill"
        )


if __name__ == "__main__":
    asyncio.run(main())

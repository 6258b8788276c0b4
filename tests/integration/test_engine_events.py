"""One event stream for an ``up``'s containers: exits are noticed as the engine reports them,
with no thread (and no engine connection) per container."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from typing import Any

import pytest

from runners.docker.backend import DockerBackend
from tests.conftest import TEST_LABELS

pytestmark = pytest.mark.docker

COUNT = 8


def start(docker_client: Any, image: str, labels: dict[str, str], command: str) -> Any:
    return docker_client.containers.run(
        image, entrypoint=["/bin/sh", "-c", command], detach=True, labels={**TEST_LABELS, **labels}
    )


async def test_exits_of_many_containers_arrive_on_one_stream_without_a_thread_each(
    standin_images: str, docker_client: Any
) -> None:
    mine = {"scf-local.test-events": secrets.token_hex(4)}
    backend = DockerBackend()
    image = f"{standin_images}/python:3.13"
    containers = []
    try:
        await backend.subscribe(mine)
        # one that ends before anyone watches it: remembered, not missed
        early = start(docker_client, image, mine, "exit 3")
        containers.append(early)
        await asyncio.to_thread(early.wait)
        containers += [start(docker_client, image, mine, "sleep 60") for _ in range(COUNT)]
        threads = threading.active_count()
        seen: dict[str, tuple[int, float]] = {}
        done = asyncio.Event()

        def exited(container_id: str, code: int) -> None:
            seen[container_id] = (code, time.monotonic())
            if len(seen) == COUNT + 1:
                done.set()

        for container in containers:
            backend.watch_exit(container.id, lambda code, cid=container.id: exited(cid, code))
        assert threading.active_count() == threads  # no thread per watched container
        killed = time.monotonic()
        await asyncio.gather(*(asyncio.to_thread(c.kill) for c in containers[1:]))
        await asyncio.wait_for(done.wait(), 10)
        assert seen[early.id][0] == 3
        assert all(seen[c.id][0] == 137 for c in containers[1:])
        slowest = max(seen[c.id][1] for c in containers[1:]) - killed
        assert slowest < 2.0, f"the last exit was noticed {slowest:.2f} s after the kills"
    finally:
        for container in containers:
            container.remove(force=True)
        await backend.aclose()


async def test_output_lines_and_exits_reach_the_loop_with_no_thread_and_no_engine_call_per_check(
    standin_images: str, docker_client: Any
) -> None:
    """Each container's output is read on the loop, and readiness's "still running?" is
    answered from the event stream, not by asking the engine 20 times a second."""
    mine = {"scf-local.test-events": secrets.token_hex(4)}
    backend = DockerBackend()
    image = f"{standin_images}/python:3.13"
    containers: list[Any] = []
    lines: dict[str, list[str]] = {}
    loop_thread = threading.get_ident()
    threads_seen: set[int] = set()
    try:
        await backend.subscribe(mine)
        threads = threading.active_count()
        for n in range(COUNT):
            container = start(docker_client, image, mine, f"echo line-{n}-a; echo line-{n}-b >&2; sleep 60")
            containers.append(container)

            def seen(line: str, cid: str = container.id) -> None:
                threads_seen.add(threading.get_ident())
                lines.setdefault(cid, []).append(line)

            backend.follow_logs(container.id, seen)
        for _ in range(100):
            if sum(len(v) for v in lines.values()) == 2 * COUNT:
                break
            await asyncio.sleep(0.05)
        assert threading.active_count() == threads  # no thread per followed container
        assert threads_seen == {loop_thread}  # every line handed over on the loop
        assert all(sorted(lines[c.id]) == [f"line-{n}-a", f"line-{n}-b"] for n, c in enumerate(containers))

        connection = backend.connection  # from here on, an engine call would fail:
        client, connection._client = connection._client, object()
        assert await backend.is_running(containers[0].id)
        await asyncio.to_thread(containers[0].kill)
        for _ in range(100):
            if not await backend.is_running(containers[0].id):
                break
            await asyncio.sleep(0.02)
        assert not await backend.is_running(containers[0].id)
        assert await backend.is_running(containers[1].id)
        connection._client = client
    finally:
        for container in containers:
            container.remove(force=True)
        await backend.aclose()

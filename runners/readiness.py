"""Waiting for an app in a container to answer HTTP: the Lambda Web Adapter's
readiness check and the ALB's health check are the same loop with a
different set of healthy statuses."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from gateway.errors import DockerError
from runners.docker.backend import DockerBackend


async def probe(
    session: aiohttp.ClientSession, port: int, path: str, timeout: float, host: str = "127.0.0.1"
) -> int | str:
    """One GET of ``path`` on ``host:port`` (a published port): its status, or the name of the
    error."""
    try:
        async with session.get(
            f"http://{host}:{port}{path}", timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return type(exc).__name__


@dataclass(frozen=True)
class Readiness:
    took: float
    """Seconds until the app answered as it did."""
    healthy: bool
    last: str
    """What it answered last (``status 404``)."""


async def wait_for_http(
    session: aiohttp.ClientSession,
    backend: DockerBackend,
    *,
    name: str,
    container_id: str,
    port: int,
    path: str,
    healthy: range,
    expected: str,
    timeout: float,
    hint: str = "",
    poll: float = 0.05,
    settle: float | None = None,
    host: str = "127.0.0.1",
) -> Readiness:
    """GET ``path`` on ``host:port`` until the status is in ``healthy``. With ``settle``,
    an app that has answered for that long, but never healthily, is accepted as unhealthy
    (the ALB's fail-open). Fails early when the container exits, or after ``timeout``."""
    started = time.monotonic()
    end = started + timeout
    last = "no answer yet"
    answering_since: float | None = None
    while time.monotonic() < end:
        answer = await probe(session, port, path, 2, host)
        now = time.monotonic()
        if isinstance(answer, int):
            last = f"status {answer}"
            if answer in healthy:
                return Readiness(now - started, True, last)
            answering_since = answering_since or now
            if settle is not None and now - answering_since >= settle:
                return Readiness(now - started, False, last)
        else:
            last = answer
            answering_since = None
        if not await backend.is_running(container_id):
            raise DockerError(f"{name}: the container exited before {path} answered (see its output above)")
        await asyncio.sleep(poll)
    raise DockerError(
        f"{name}: {path} did not answer {expected} within {timeout:.0f} s ({last})"
        + (f"; {hint}" if hint else "")
    )

"""Waiting for an app in a container to answer HTTP: the Lambda Web Adapter's
readiness check and the ALB's health check are the same loop with a
different set of healthy statuses."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from gateway.errors import DockerError
from runners.docker.backend import DockerBackend


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
) -> float:
    """GET ``path`` on ``127.0.0.1:port`` until the status is in ``healthy``;
    returns the seconds it took. Fails early when the container exits."""
    started = time.monotonic()
    end = started + timeout
    last = "no answer yet"
    while time.monotonic() < end:
        try:
            async with session.get(
                f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                await response.read()
                if response.status in healthy:
                    return time.monotonic() - started
                last = f"status {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            last = type(exc).__name__
        if not await backend.is_running(container_id):
            raise DockerError(f"{name}: the container exited before {path} answered (see its output above)")
        await asyncio.sleep(poll)
    raise DockerError(
        f"{name}: {path} did not answer {expected} within {timeout:.0f} s ({last})"
        + (f"; {hint}" if hint else "")
    )
